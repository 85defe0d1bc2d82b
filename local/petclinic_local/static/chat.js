// The local chat page. The request is the Spring PetClinic front-end's chat box contract
// (POST /api/genai/chatclient, Content-Type application/json, the body JSON.stringify(text),
// the answer the response's text, Markdown); unlike the upstream widget, this page reads the
// status: an answer is rendered as Markdown (markdown.js, which never makes markup of the text),
// a refusal or a failure is shown as the sentence the API gave, marked as an error. While a
// request runs the page shows that the assistant is thinking and Send is disabled.
(function () {
  'use strict';

  var form = document.getElementById('chatbox-form');
  var input = document.getElementById('chatbox-input');
  var send = document.getElementById('chatbox-send');
  var messages = document.getElementById('chatbox-messages');

  function bubble(author, kind) {
    var node = document.createElement('div');
    node.classList.add('chat-bubble', author);
    if (kind) { node.classList.add(kind); }
    messages.appendChild(node);
    messages.scrollTop = messages.scrollHeight;
    return node;
  }

  function say(text, author, kind) {
    var node = bubble(author, kind);
    if (author === 'bot' && !kind) {
      node.appendChild(window.renderMarkdown(text));
    } else {
      node.textContent = text;
    }
    messages.scrollTop = messages.scrollHeight;
    return node;
  }

  function reason(response, body) {
    var text = body.trim();
    try {
      var data = JSON.parse(text);
      if (data && typeof data.message === 'string') { return data.message; }
    } catch (ignored) { /* the API's sentence, as text */ }
    return text || 'The assistant answered ' + response.status + ' without saying why.';
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    if (send.disabled) { return; }
    var query = input.value.trim();
    if (!query) { return; }
    input.value = '';
    say(query, 'user');
    var thinking = bubble('bot', 'thinking');
    thinking.setAttribute('role', 'status');
    thinking.textContent = 'Thinking';
    send.disabled = true;
    messages.setAttribute('aria-busy', 'true');
    try {
      var response = await fetch('/api/genai/chatclient', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(query)
      });
      var body = await response.text();
      thinking.remove();
      if (response.ok) {
        say(body, 'bot');
      } else {
        say(reason(response, body), 'bot', 'error');
      }
    } catch (error) {
      thinking.remove();
      say('Chat is currently unavailable: the request did not reach the assistant.', 'bot', 'error');
    } finally {
      send.disabled = false;
      messages.removeAttribute('aria-busy');
      input.focus();
    }
  });
}());
