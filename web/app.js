// wirestream dashboard: listens to /events (Server-Sent Events) and renders
// the stream of enriched stories, per-topic rates and the top entities.
//
// Article text is untrusted. Every piece of it reaches the page through
// textContent or setAttribute on elements built here; nothing is ever
// parsed as HTML (no innerHTML, insertAdjacentHTML or document.write), and
// the server's Content-Security-Policy forbids inline scripts besides.
'use strict';

(function () {
  const MAX_STORIES = 100;
  const RATE_WINDOW_MS = 60000;   // per-topic rates: stories per minute over this

  const $ = (id) => document.getElementById(id);
  const storiesEl = $('stories');
  let storyCount = 0;
  let history = [];               // [{t, classified: {topic: count}, inTotal}]

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setText(id, text) {
    const e = $(id);
    if (e) e.textContent = String(text);
  }

  function timeOf(ms) {
    const d = new Date(typeof ms === 'number' ? ms : Date.now());
    return d.toLocaleTimeString();
  }

  function dedupeBadges(d) {
    const out = [];
    if (!d) return out;
    if (d.status === 'duplicate' || d.status === 'near_duplicate') {
      const label = d.status === 'duplicate' ? 'duplicate' : 'near duplicate';
      const b = el('span', 'badge ' + d.status, label);
      if (d.duplicate_of) b.title = 'of ' + d.duplicate_of;
      out.push(b);
    }
    if (typeof d.cluster_size === 'number' && d.cluster_size > 1) {
      const b = el('span', 'badge outlets', d.cluster_size + ' outlets');
      b.setAttribute('data-cluster-size', String(d.cluster_size));
      out.push(b);
    }
    return out;
  }

  function renderStory(s) {
    const li = el('li', 'story fresh');
    li.setAttribute('data-id', String(s.id || ''));
    if (s.dedupe && s.dedupe.status) li.setAttribute('data-dedupe', String(s.dedupe.status));

    const h = el('div', 'headline', s.headline || '(no headline)');
    for (const b of dedupeBadges(s.dedupe)) h.appendChild(b);
    li.appendChild(h);

    const meta = [];
    if (s.source) meta.push(s.source);
    if (s.dateline) meta.push(s.dateline);
    meta.push(timeOf(s.ts));
    if (s.id) meta.push(s.id);
    li.appendChild(el('div', 'meta', meta.join(' · ')));

    const chips = el('div', 'chips');
    for (const t of s.topics || []) {
      const c = el('span', 'chip topic', t.name);
      if (typeof t.score === 'number') c.title = 'score ' + t.score.toFixed(2);
      chips.appendChild(c);
    }
    for (const e of s.entities || []) {
      const type = ['person', 'organization', 'place'].includes(e.type) ? e.type : 'other';
      const c = el('span', 'chip entity ' + type, e.name);
      c.title = type + (e.qid ? ' ' + e.qid : '') + (e.mentions ? ', ' + e.mentions + ' mentions' : '');
      chips.appendChild(c);
    }
    if (chips.childNodes.length) li.appendChild(chips);

    storiesEl.insertBefore(li, storiesEl.firstChild);
    while (storiesEl.childNodes.length > MAX_STORIES) storiesEl.removeChild(storiesEl.lastChild);
    storyCount++;
    setText('story-count', storyCount);
  }

  function renderBars(listEl, items) {
    const max = items.reduce((m, it) => Math.max(m, it.value), 0) || 1;
    const frag = document.createDocumentFragment();
    for (const it of items) {
      const li = el('li');
      li.appendChild(el('span', 'label', it.label));
      li.appendChild(el('span', 'value', it.text));
      const bar = el('span', 'bar');
      bar.style.width = Math.max(1, Math.round((it.value / max) * 100)) + '%';  // CSSOM, not markup
      li.appendChild(bar);
      frag.appendChild(li);
    }
    while (listEl.firstChild) listEl.removeChild(listEl.firstChild);
    listEl.appendChild(frag);
  }

  function byOf(m, key) {
    return (m && m[key] && m[key].by) || {};
  }

  function totalOf(m, key) {
    return (m && m[key] && typeof m[key].total === 'number') ? m[key].total : 0;
  }

  function renderStats(st) {
    const ready = !!st.ready;
    const r = $('ready');
    r.textContent = ready ? 'ready' : 'not ready: ' + (st.reason || '');
    r.className = 'pill ' + (ready ? 'on' : 'off');

    const now = typeof st.t === 'number' ? st.t : Date.now();
    const classified = Object.assign({}, byOf(st, 'classified'));
    const inTotal = totalOf(st, 'records_in');
    history.push({ t: now, classified: classified, inTotal: inTotal });
    while (history.length > 2 && now - history[1].t >= RATE_WINDOW_MS) history.shift();
    const first = history[0];
    const dt = Math.max(1, now - first.t);

    setText('t-in', inTotal);
    setText('t-out', totalOf(st, 'records_out'));
    setText('t-rejects', totalOf(st, 'rejects'));
    const dd = byOf(st, 'dedupe');
    setText('t-dups', (dd.duplicate || 0) + (dd.near_duplicate || 0));
    setText('t-lag', (st.consumer_lag && st.consumer_lag.total) || 0);
    setText('t-rate', history.length > 1 ? ((inTotal - first.inTotal) * 1000 / dt).toFixed(1) : '0');
    const p99 = st.latency_ms && st.latency_ms.p99;
    setText('t-p99', typeof p99 === 'number' ? p99.toFixed(0) + ' ms' : '-');

    const topics = Object.keys(classified).map((name) => {
      const before = first.classified[name] || 0;
      const perMin = history.length > 1 ? (classified[name] - before) * 60000 / dt : 0;
      return { label: name, value: perMin, text: perMin.toFixed(1) + '/min · ' + classified[name] };
    });
    topics.sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
    renderBars($('topics'), topics);

    const ents = (st.top_entities || []).map((e) => ({
      label: e.name, value: e.count, text: String(e.count),
    }));
    renderBars($('entities'), ents);
  }

  function parse(ev) {
    try {
      return JSON.parse(ev.data);
    } catch (e) {
      return null;
    }
  }

  function connect() {
    const conn = $('conn');
    const es = new EventSource('/events');
    es.addEventListener('open', () => {
      conn.textContent = 'live';
      conn.className = 'pill on';
    });
    es.addEventListener('error', () => {
      conn.textContent = 'reconnecting';
      conn.className = 'pill off';
    });
    es.addEventListener('story', (ev) => {
      const s = parse(ev);
      if (s) renderStory(s);
    });
    es.addEventListener('stats', (ev) => {
      const s = parse(ev);
      if (s) renderStats(s);
    });
  }

  connect();
})();
