// dbward's overview: refreshes the counts and the table in place (no full page reload) every
// data-refresh-seconds, keeping the page's filters (its own URL). Progressive enhancement:
// without this script the page is complete and static. Pauses while the tab is hidden; says
// when it last refreshed, and when it could not (an ended session asks to log in again).
(function () {
  'use strict';
  var live = document.getElementById('overview-live');
  if (!live || !window.fetch || !window.DOMParser) return;
  var seconds = Number(live.getAttribute('data-refresh-seconds')) || 30;
  var note = document.createElement('p');
  note.className = 'muted';
  note.setAttribute('role', 'status');
  note.textContent = 'Refreshes every ' + seconds + ' s.';
  live.parentNode.insertBefore(note, live);

  function refresh() {
    if (document.hidden) return Promise.resolve(false);
    return fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          note.textContent = response.redirected
            ? 'Not refreshed: the session ended; reload the page to log in again.'
            : 'Not refreshed: the server answered ' + response.status + '.';
          return false;
        }
        return response.text().then(function (text) {
          var fresh = new DOMParser().parseFromString(text, 'text/html').getElementById('overview-live');
          if (!fresh) return false;
          live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
          note.textContent = 'Refreshed at ' + new Date().toLocaleTimeString() + '; refreshes every ' + seconds + ' s.';
          return true;
        });
      })
      .catch(function (e) {
        note.textContent = 'Not refreshed: ' + e.message + '.';
        return false;
      });
  }

  window.setInterval(refresh, seconds * 1000);
})();
