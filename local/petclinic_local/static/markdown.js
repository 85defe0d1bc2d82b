// A small, safe Markdown renderer for the assistant's answers (no dependency, no CDN).
//
// An answer can carry text from PetClinic's data (an owner's name or address), so nothing in it
// may become markup: the renderer builds DOM nodes itself (createElement, textContent) and
// never assigns HTML. What it understands: paragraphs and line breaks, headings (#), bullet and
// numbered lists, fenced code blocks, `code`, **bold**, __bold__, *italic*, _italic_, links
// [text](https://...) (http and https only, opened apart with no referrer), and the character
// references the API writes for angle brackets (&lt; &gt; &amp; &quot; &#39; &#NN;). Anything
// else is shown as the text it is.
(function (global) {
  'use strict';

  var LIST_ITEM = /^\s*(?:[-*+]|\d{1,9}[.)])\s+/;
  var ORDERED = /^\s*\d{1,9}[.)]\s+/;
  var FENCE = /^\s*```/;
  var HEADING = /^(#{1,6})\s+(.*)$/;
  var BLANK = /^\s*$/;
  var INLINE = '`([^`]+)`|\\*\\*(.+?)\\*\\*|__(.+?)__|\\*([^*\\s](?:[^*]*[^*\\s])?)\\*|' +
    '(?:^|(?<=[^\\w]))_([^_\\s](?:[^_]*[^_\\s])?)_(?=[^\\w]|$)|\\[([^\\]]+)\\]\\(([^)\\s]+)\\)';
  var NAMED = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

  function decode(text) {
    return text.replace(/&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));/g,
      function (all, name, decimal, hex) {
        if (name) { return NAMED[name]; }
        var code = decimal ? parseInt(decimal, 10) : parseInt(hex, 16);
        var printable = code >= 32 && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) &&
          code !== 127 && !(code >= 0x80 && code < 0xA0);
        return printable ? String.fromCodePoint(code) : all;
      });
  }

  function text(parent, value) {
    parent.appendChild(document.createTextNode(decode(value)));
  }

  function inline(parent, source) {
    var pattern = new RegExp(INLINE, 'g');
    var last = 0;
    var match;
    while ((match = pattern.exec(source)) !== null) {
      if (match.index > last) { text(parent, source.slice(last, match.index)); }
      var node;
      if (match[1] !== undefined) {
        node = document.createElement('code');
        node.textContent = decode(match[1]);
      } else if (match[2] !== undefined || match[3] !== undefined) {
        node = document.createElement('strong');
        inline(node, match[2] !== undefined ? match[2] : match[3]);
      } else if (match[4] !== undefined || match[5] !== undefined) {
        node = document.createElement('em');
        inline(node, match[4] !== undefined ? match[4] : match[5]);
      } else {
        var url = decode(match[7]);
        if (/^https?:\/\/[^\s]+$/i.test(url)) {
          node = document.createElement('a');
          node.href = url;
          node.rel = 'noopener noreferrer nofollow';
          node.target = '_blank';
          inline(node, match[6]);
        } else {
          node = document.createTextNode(decode(match[0]));
        }
      }
      parent.appendChild(node);
      last = pattern.lastIndex;
    }
    if (last < source.length) { text(parent, source.slice(last)); }
  }

  function isBlockStart(line) {
    return BLANK.test(line) || FENCE.test(line) || HEADING.test(line) || LIST_ITEM.test(line);
  }

  function render(source) {
    var root = document.createDocumentFragment();
    var lines = String(source).replace(/\r\n?/g, '\n').split('\n');
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      var match;
      if (BLANK.test(line)) {
        i += 1;
      } else if (FENCE.test(line)) {
        var code = [];
        i += 1;
        while (i < lines.length && !FENCE.test(lines[i])) { code.push(lines[i]); i += 1; }
        i += 1;
        var pre = document.createElement('pre');
        var block = document.createElement('code');
        block.textContent = code.join('\n');
        pre.appendChild(block);
        root.appendChild(pre);
      } else if ((match = HEADING.exec(line)) !== null) {
        var heading = document.createElement('h' + Math.min(6, match[1].length + 2));
        inline(heading, match[2]);
        root.appendChild(heading);
        i += 1;
      } else if (LIST_ITEM.test(line)) {
        var list = document.createElement(ORDERED.test(line) ? 'ol' : 'ul');
        while (i < lines.length && LIST_ITEM.test(lines[i])) {
          var item = document.createElement('li');
          inline(item, lines[i].replace(LIST_ITEM, ''));
          i += 1;
          while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !LIST_ITEM.test(lines[i])) {
            item.appendChild(document.createElement('br'));
            inline(item, lines[i].trim());
            i += 1;
          }
          list.appendChild(item);
        }
        root.appendChild(list);
      } else {
        var paragraph = document.createElement('p');
        var first = true;
        while (i < lines.length && (first || !isBlockStart(lines[i]))) {
          if (!first) { paragraph.appendChild(document.createElement('br')); }
          inline(paragraph, lines[i]);
          first = false;
          i += 1;
        }
        root.appendChild(paragraph);
      }
    }
    return root;
  }

  global.renderMarkdown = render;
}(window));
