/*
 * The article narration player: play/pause, seek, skip 15 s, speed, resume,
 * and read-along (the paragraph being read is highlighted; a button at each
 * paragraph, or a click on it, plays from there). Once the reader has
 * started listening, the controls dock at the foot of the window whenever
 * their place in the page has scrolled away. No framework; progressive
 * enhancement of templates/audio/includes/player.html, whose native
 * <audio controls> is what readers without JavaScript use.
 *
 * Highlighting is by paragraph and, where the narration knows when each
 * word is spoken, by word: a timing [n, start, end, steps] carries steps,
 * centiseconds from the paragraph's start to its first displayed word and
 * then from each word to the next (masthead/audio/words.py). Only the
 * paragraph being read has its words wrapped, text node by text node, so
 * links and inline markup stay as they are; if the page shows a different
 * number of words than the steps, that paragraph is highlighted whole.
 *
 * Paragraph numbering must match the narration (masthead/audio/script.py):
 * inside the article body, in document order, every p, li, h1-h6 and
 * blockquote with text, except those inside a blockquote, figure, aside,
 * figcaption, [data-narration-skip] or the paywall ([data-paywall]: it
 * follows the teaser). Each gets data-paragraph="n"; the
 * narration's timings are [n, start, end] in seconds.
 */
(function () {
  "use strict";

  var READABLE = "p, li, h1, h2, h3, h4, h5, h6, blockquote";
  var SKIPPED = "blockquote, figure, aside, figcaption, [data-narration-skip], [data-paywall]";
  var SKIP_SECONDS = 15;
  var RATE_KEY = "masthead-narration:rate";
  var EXCERPT_WORDS = 6;
  var BREAKING = /^(BR|P|DIV|FOOTER|LI|UL|OL|H[1-6]|BLOCKQUOTE|FIGURE|TABLE|TR|TD)$/;

  function store(key, value) {
    try {
      if (value === null) { window.localStorage.removeItem(key); }
      else { window.localStorage.setItem(key, String(value)); }
    } catch (e) { /* private browsing: no memory, no harm */ }
  }

  function recall(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function excerpt(element) {
    var words = element.textContent.trim().split(/\s+/);
    var text = words.slice(0, EXCERPT_WORDS).join(" ");
    return words.length > EXCERPT_WORDS ? text + "\u2026" : text;
  }

  function numberParagraphs(body) {
    var found = [];
    if (!body) { return found; }
    body.querySelectorAll(READABLE).forEach(function (element) {
      if (element.matches("[data-narration-skip]")) { return; }
      for (var node = element.parentElement; node && node !== body; node = node.parentElement) {
        if (node.matches(SKIPPED)) { return; }
      }
      if (!element.textContent.trim()) { return; }
      element.setAttribute("data-paragraph", String(found.length));
      found.push(element);
    });
    return found;
  }

  function findBody(player) {
    var marked = document.querySelector("[data-narration-body]");
    if (marked) { return marked; }
    var article = player.closest("article") || document;
    return article.querySelector("[itemprop='articleBody'], .article__body");
  }

  function setup(player) {
    var audio = player.querySelector("audio");
    var bar = player.querySelector("[data-role='bar']");
    var controls = player.querySelector("[data-role='controls']");
    var playButton = player.querySelector("[data-action='play']");
    var icon = playButton.querySelector("[data-icon]");
    var seek = player.querySelector("[data-role='seek']");
    var elapsed = player.querySelector("[data-role='elapsed']");
    var total = player.querySelector("[data-role='duration']");
    var speed = player.querySelector("[data-role='speed']");
    var timingsNode = document.getElementById(player.getAttribute("data-timings"));
    var timings = timingsNode ? JSON.parse(timingsNode.textContent) : [];
    var duration = parseFloat(player.getAttribute("data-duration")) || 0;
    var positionKey = "masthead-narration:" + player.getAttribute("data-article") + ":" +
      player.getAttribute("data-kind");
    var paragraphs = numberParagraphs(findBody(player));
    var current = null;
    var words = null; // the current paragraph's [{start, spans}], or null
    var word = -1;
    var frame = null;
    var pendingSeek = null;
    var lastSaved = 0;
    var listening = false;
    var inPlace = true;
    var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

    // The script's own controls replace the browser's.
    audio.removeAttribute("controls");
    controls.hidden = false;
    player.querySelectorAll("[data-role='hint']").forEach(function (hint) { hint.hidden = false; });

    function paragraph(index) { return paragraphs[index] || null; }

    function show(time) {
      elapsed.textContent = clock(time);
      seek.value = String(Math.floor(time));
      seek.setAttribute("aria-valuetext", clock(time) + " of " + clock(duration));
    }

    function seekTo(time) {
      time = Math.max(0, Math.min(time, duration || time));
      if (audio.readyState >= 1) { audio.currentTime = time; }
      else { pendingSeek = time; }
      show(time);
      highlight(time);
    }

    // The part of the window the reader sees text in (the docked bar covers
    // the foot of it).
    function inView(element) {
      var box = element.getBoundingClientRect();
      var bottom = window.innerHeight - (player.classList.contains("is-docked") ? bar.offsetHeight : 0);
      return box.bottom > 0 && box.top < bottom;
    }

    // The words of one paragraph, its own text only (not a nested list's
    // items, not the listen-from-here button), each wrapped in spans.
    function wrapWords(element, timing) {
      var steps = timing[3];
      if (!steps || element.hasAttribute("data-words-off")) { return null; }
      var pieces = [], count = 0, joined = false;
      var walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT, {
        acceptNode: function (node) {
          var owner = node.parentElement.closest("[data-paragraph], .narration-from");
          return owner === element ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
        }
      });
      for (var node = walker.nextNode(); node; node = walker.nextNode()) {
        // A line break or a block (a quote's attribution) ends a word.
        var breaks = breaksWords(node, element);
        if (breaks) { joined = false; }
        var parts = node.data.split(/(\s+)/);
        parts.forEach(function (part) {
          if (!part) { return; }
          if (/^\s/.test(part)) { joined = false; return; }
          if (!joined) { count++; }
          joined = true;
        });
        pieces.push([node, parts, breaks]);
        joined = joined && !/\s$/.test(node.data);
      }
      if (count !== steps.length) { element.setAttribute("data-words-off", ""); return null; }
      var found = [], at = timing[1] * 100, index = -1;
      joined = false;
      pieces.forEach(function (piece) {
        var fragment = document.createDocumentFragment();
        if (piece[2]) { joined = false; }
        piece[1].forEach(function (part) {
          if (!part) { return; }
          if (/^\s/.test(part)) { joined = false; fragment.appendChild(document.createTextNode(part)); return; }
          if (!joined) { index++; at += steps[index]; found.push({ start: at / 100, spans: [] }); }
          joined = true;
          var span = document.createElement("span");
          span.className = "narration-word";
          span.textContent = part;
          found[index].spans.push(span);
          fragment.appendChild(span);
        });
        piece[0].parentNode.replaceChild(fragment, piece[0]);
      });
      return found;
    }

    function breaksWords(node, element) {
      for (var prior = node; prior && prior !== element; prior = prior.parentNode) {
        var before = prior.previousSibling;
        if (before) { return before.nodeType === 1 && BREAKING.test(before.tagName); }
        if (prior.parentNode !== element && BREAKING.test(prior.parentNode.tagName)) { return true; }
      }
      return false;
    }

    function markWord(time) {
      if (!words) { return; }
      var index = -1;
      for (var i = 0; i < words.length && words[i].start <= time; i++) { index = i; }
      if (index === word) { return; }
      if (word >= 0) { words[word].spans.forEach(function (s) { s.classList.remove("is-spoken"); }); }
      word = index;
      if (word >= 0) { words[word].spans.forEach(function (s) { s.classList.add("is-spoken"); }); }
    }

    // timeupdate comes a few times a second; words go faster than that.
    function follow() {
      markWord(audio.currentTime);
      frame = audio.paused ? null : window.requestAnimationFrame(follow);
    }

    function highlight(time) {
      var index = null, timing = null;
      for (var i = 0; i < timings.length; i++) {
        if (time >= timings[i][1] && time < timings[i][2]) { index = timings[i][0]; timing = timings[i]; break; }
      }
      if (index === current) { markWord(time); return; }
      markWord(-1);
      words = null;
      word = -1;
      var previous = paragraph(current);
      // Follow the narration down the page only while the reader is
      // following it too: someone who has scrolled elsewhere stays there.
      var following = !previous || inView(previous);
      if (previous) { previous.classList.remove("narration-reading"); }
      current = index;
      var next = paragraph(index);
      if (!next) { return; }
      next.classList.add("narration-reading");
      if (!next.narrationWords && timing) { next.narrationWords = wrapWords(next, timing); }
      words = next.narrationWords || null;
      markWord(time);
      if (audio.paused || !following || inView(next)) { return; }
      next.scrollIntoView({ block: "center", behavior: reducedMotion ? "auto" : "smooth" });
    }

    function dock() {
      var docked = listening && !inPlace;
      if (docked === player.classList.contains("is-docked")) { return; }
      // The player keeps its height in the page, so the text does not jump.
      player.style.minHeight = docked ? player.offsetHeight + "px" : "";
      player.classList.toggle("is-docked", docked);
      document.documentElement.classList.toggle("has-docked-player", docked);
    }

    if ("IntersectionObserver" in window) {
      new IntersectionObserver(function (entries) {
        inPlace = entries[entries.length - 1].isIntersecting;
        dock();
      }).observe(player);
    }

    function setPlaying(playing) {
      icon.innerHTML = playing ? "&#10074;&#10074;" : "&#9654;";
      playButton.setAttribute("aria-label", playing ? "Pause the narration" : "Play the narration");
      player.classList.toggle("is-playing", playing);
    }

    function play() {
      var attempt = audio.play();
      if (attempt && attempt.catch) { attempt.catch(function () { setPlaying(false); }); }
    }

    playButton.addEventListener("click", function () {
      if (audio.paused) { play(); } else { audio.pause(); }
    });
    player.querySelector("[data-action='back']").addEventListener("click", function () {
      seekTo((pendingSeek !== null ? pendingSeek : audio.currentTime) - SKIP_SECONDS);
    });
    player.querySelector("[data-action='forward']").addEventListener("click", function () {
      seekTo((pendingSeek !== null ? pendingSeek : audio.currentTime) + SKIP_SECONDS);
    });
    seek.addEventListener("input", function () { seekTo(parseFloat(seek.value)); });
    speed.addEventListener("change", function () {
      audio.playbackRate = parseFloat(speed.value) || 1;
      store(RATE_KEY, audio.playbackRate);
    });

    audio.addEventListener("loadedmetadata", function () {
      if (isFinite(audio.duration) && audio.duration > 0) {
        duration = audio.duration;
        seek.max = String(Math.ceil(duration));
        total.textContent = clock(duration);
      }
      if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
      audio.playbackRate = parseFloat(speed.value) || 1;
    });
    // Listening counts for the publisher: started, past half, to the end,
    // each once per page; nothing about the listener is sent.
    var reported = {};
    function report(mark) {
      var url = player.getAttribute("data-progress-url");
      if (!url || reported[mark] || player.getAttribute("data-kind") !== "full") { return; }
      reported[mark] = true;
      url = url.replace("MARK", mark);
      if (navigator.sendBeacon) { navigator.sendBeacon(url); }
      else { fetch(url, { method: "POST", credentials: "omit", keepalive: true }); }
    }
    audio.addEventListener("play", function () {
      setPlaying(true);
      listening = true;
      dock();
      highlight(audio.currentTime);
      if (frame === null) { frame = window.requestAnimationFrame(follow); }
      report("started");
    });
    audio.addEventListener("pause", function () {
      setPlaying(false);
      store(positionKey, audio.currentTime.toFixed(1));
    });
    audio.addEventListener("ended", function () {
      setPlaying(false);
      listening = false;
      dock();
      report("end");
      store(positionKey, null);
      var last = paragraph(current);
      if (last) { last.classList.remove("narration-reading"); }
      markWord(-1);
      words = null;
      current = null;
    });
    audio.addEventListener("timeupdate", function () {
      if (pendingSeek !== null) { return; }
      show(audio.currentTime);
      highlight(audio.currentTime);
      if (audio.duration && audio.currentTime >= audio.duration / 2) { report("half"); }
      if (Math.abs(audio.currentTime - lastSaved) > 5) {
        lastSaved = audio.currentTime;
        store(positionKey, audio.currentTime.toFixed(1));
      }
    });

    // Each narrated paragraph: a button (first in it, so Tab reaches it in
    // reading order) and a click anywhere on its text that is not a link.
    timings.forEach(function (timing) {
      var element = paragraph(timing[0]);
      if (!element) { return; }
      function listenHere() { seekTo(timing[1]); play(); }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "narration-from";
      button.setAttribute("aria-label", "Listen from here: " + excerpt(element));
      button.addEventListener("click", listenHere);
      element.insertBefore(button, element.firstChild);
      element.classList.add("narration-playable");
      element.addEventListener("click", function (event) {
        if (event.target.closest("a, button, input, select, textarea")) { return; }
        var selection = window.getSelection && window.getSelection();
        if (selection && !selection.isCollapsed) { return; }
        listenHere();
      });
    });

    var rate = parseFloat(recall(RATE_KEY));
    if (rate >= 0.75 && rate <= 2) {
      speed.value = String(rate);
      if (speed.value !== String(rate)) { speed.value = "1"; }
      audio.playbackRate = parseFloat(speed.value);
    }
    var resumeAt = parseFloat(recall(positionKey));
    if (resumeAt > 5 && (!duration || resumeAt < duration - 5)) { seekTo(resumeAt); }
  }

  function init() {
    document.querySelectorAll("[data-narration-player]").forEach(function (player) {
      if (!player.hasAttribute("data-ready")) {
        player.setAttribute("data-ready", "");
        setup(player);
      }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
