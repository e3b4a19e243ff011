// Work circle pages: likes and comments without a reload, and live: new posts are offered,
// likes, comments and deletions by others show as they happen. Texts come from this script
// tag's data attributes (translated by the server); user text is only ever set as textContent,
// comment HTML is what the server rendered (escaped text, links, line breaks).
(function () {
  "use strict";
  var live = window.atriumLive;
  var script = document.currentScript;
  if (!live || !live.listen || !script) { return; }
  var texts = script.dataset;
  var me = parseInt(document.body.dataset.person, 10);

  function counted(one, many, n) {
    return n === 1 ? one : many.replace("999001", String(n));
  }

  function post(id) {
    return document.querySelector(".circle-post[data-post='" + id + "']");
  }

  function localTime(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined,
                                        {timeZone: document.body.dataset.timezone, dateStyle: "short", timeStyle: "short"});
  }

  function setLikes(box, likes, liked) {
    box.querySelector("[data-likes]").textContent = counted(texts.textLike, texts.textLikes, likes);
    if (liked === undefined) { return; }
    var button = box.querySelector(".circle-like");
    button.classList.toggle("liked", liked);
    button.setAttribute("aria-pressed", liked ? "true" : "false");
    box.querySelector(".circle-like-form input[name=like]").value = liked ? "0" : "1";
  }

  function setComments(box, n) {
    box.querySelector("[data-comments]").textContent = counted(texts.textComment, texts.textComments, n);
  }

  function commentElement(box, c) {
    var li = document.createElement("li");
    li.className = "circle-comment";
    li.dataset.comment = c.id;
    var author = document.createElement("span");
    author.className = "sender";
    author.textContent = c.author.name;
    var text = document.createElement("span");
    text.className = "circle-comment-text";
    text.innerHTML = c.html;  // rendered by the server: escaped text plus links only
    var time = document.createElement("time");
    time.className = "muted";
    time.textContent = localTime(c.created_at);
    li.appendChild(author);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(time);
    if (c.author.id === me || box.dataset.moderate) {
      var form = document.createElement("form");
      form.method = "post";
      form.className = "inline circle-comment-delete";
      form.action = box.dataset.commentsUrl + "/" + c.id + "/delete";
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = live.csrf();
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "link-button";
      button.textContent = texts.textDelete;
      form.appendChild(token);
      form.appendChild(button);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(form);
    }
    return li;
  }

  function addComment(box, c, n) {
    var list = box.querySelector(".circle-comments");
    if (!list.querySelector("[data-comment='" + c.id + "']")) { list.appendChild(commentElement(box, c)); }
    if (n !== undefined) { setComments(box, n); }
  }

  function onCircle(e) {
    if (e.action === "post") {
      var feed = document.getElementById("circle-feed");
      var news = document.getElementById("circle-news");
      if (e.author !== me && news && feed && feed.dataset.page === "1") { news.classList.remove("hidden"); }
      return;
    }
    var box = post(e.id);
    if (!box) { return; }
    if (e.action === "like") {
      setLikes(box, e.likes, e.person === me ? e.liked : undefined);
    } else if (e.action === "comment") {
      addComment(box, e.comment, e.comments);
    } else if (e.action === "comment_deleted") {
      var item = box.querySelector("[data-comment='" + e.comment + "']");
      if (item) { item.remove(); }
      setComments(box, e.comments);
    } else if (e.action === "post_deleted") {
      box.classList.add("circle-gone");
      box.querySelectorAll("form").forEach(function (form) { form.remove(); });
      var note = document.createElement("p");
      note.className = "muted";
      note.textContent = texts.textGone;
      box.appendChild(note);
    }
  }

  function send(form) {
    return fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                               headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var box = form.closest(".circle-post");
    if (!box || !(form.classList.contains("circle-like-form") || form.classList.contains("circle-comment-form")
                  || form.classList.contains("circle-comment-delete"))) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;  // a second click does not send twice
    send(form).then(function (result) {
      if (!result.ok) { live.toast(result.data.error || "", true); return; }
      if (form.classList.contains("circle-like-form")) {
        setLikes(box, result.data.likes, result.data.liked);
      } else if (form.classList.contains("circle-comment-form")) {
        form.reset();
        addComment(box, result.data);
      } else {
        form.closest("li").remove();
      }
    }).catch(function () { return null; }).finally(function () { button.disabled = false; });
  });

  // The composer refuses what the server would refuse, before the upload, so nothing typed is lost.
  var composer = document.getElementById("circle-form");
  if (composer) {
    composer.addEventListener("submit", function (event) {
      var files = Array.prototype.slice.call(composer.elements.images.files || []);
      var d = composer.dataset;
      var total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
      var problem = null;
      if (files.length > parseInt(d.maxImages, 10)) { problem = d.textTooMany; }
      else if (files.some(function (f) { return f.size > parseInt(d.maxImageBytes, 10); })) { problem = d.textTooLarge; }
      else if (total > parseInt(d.maxRequest, 10) - 65536) { problem = d.textTooMuch; }
      if (problem) {
        event.preventDefault();
        live.toast(problem, true);
      }
    });
  }

  live.handlers.circle = onCircle;
  live.listen("circle");
}());
