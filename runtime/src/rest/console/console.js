// sluice console: the overview and connector pages. It reads and writes through Kafka Connect's
// public REST API only (plus sluice's Prometheus `/metrics` where the worker serves it), so it
// works against any Kafka Connect worker: `?api=http://host:8083` points it elsewhere (that
// worker must allow this origin with `access.control.allow.origin`).
'use strict';

const Console = (() => {
  const API = (new URLSearchParams(location.search).get('api') || '').replace(/\/+$/, '');
  const REFRESH_MS = 2000;
  const HISTORY_MS = 15 * 60 * 1000;

  // ---- DOM helpers: every value goes in as text, never as markup ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const main = () => document.getElementById('main');
  const enc = encodeURIComponent;

  // ---- REST ----
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, opts);
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = text; }
    }
    if (!res.ok) {
      const err = new Error((data && data.message) || `${res.status} ${res.statusText}`);
      err.status = res.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  // ---- throughput: counters from /metrics, sampled at each refresh, kept for 15 minutes ----
  const samples = new Map(); // "connector/task" -> [[ms, records], ...]
  const endOffsets = new Map(); // connector -> Map("topic-partition" -> end offset the broker reported)
  const committedOffsets = new Map(); // connector -> Map("topic-partition" -> committed offset)
  let metricsServed = true;
  async function sampleMetrics() {
    if (!metricsServed) return;
    let text;
    try {
      const res = await fetch(API + '/metrics', { credentials: 'same-origin' });
      if (!res.ok) { metricsServed = res.status >= 500; return; }
      text = await res.text();
    } catch (_) { return; }
    const now = Date.now();
    const re = /^sluice_task_records_total\{connector="((?:[^"\\]|\\.)*)",task="(\d+)"[^}]*\} (\d+)/;
    const end = /^sluice_sink_(end|committed)_offset\{connector="((?:[^"\\]|\\.)*)",task="\d+",topic="((?:[^"\\]|\\.)*)",partition="(\d+)"\} (-?\d+)/;
    const unescape = (s) => s.replace(/\\(.)/g, '$1');
    endOffsets.clear();
    committedOffsets.clear();
    for (const line of text.split('\n')) {
      const e = end.exec(line);
      if (e) {
        const into = e[1] === 'end' ? endOffsets : committedOffsets;
        const name = unescape(e[2]);
        if (!into.has(name)) into.set(name, new Map());
        into.get(name).set(`${unescape(e[3])}-${e[4]}`, Number(e[5]));
        continue;
      }
      const m = re.exec(line);
      if (!m) continue;
      const key = m[1].replace(/\\(.)/g, '$1') + '/' + m[2];
      const list = samples.get(key) || [];
      list.push([now, Number(m[3])]);
      while (list.length && now - list[0][0] > HISTORY_MS) list.shift();
      samples.set(key, list);
    }
  }
  // records per second over the last ~10 s, or null when unknown
  function rate(connector, task) {
    const list = samples.get(connector + '/' + task);
    if (!list || list.length < 2) return null;
    const last = list[list.length - 1];
    let first = list[list.length - 2];
    for (let i = list.length - 2; i >= 0 && last[0] - list[i][0] <= 10000; i--) first = list[i];
    const secs = (last[0] - first[0]) / 1000;
    return secs > 0 ? Math.max(0, (last[1] - first[1]) / secs) : null;
  }
  function connectorRate(name, tasks) {
    let total = null;
    for (const t of tasks) {
      const r = rate(name, t.id);
      if (r !== null) total = (total || 0) + r;
    }
    return total;
  }
  function formatRate(r) {
    if (r === null) return '—';
    return r >= 100 ? Math.round(r).toLocaleString('en') : r.toFixed(1);
  }
  // an SVG line of records per second between consecutive samples
  function sparkline(connector, task) {
    const list = samples.get(connector + '/' + task) || [];
    const W = 160, H = 28;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('width', W);
    svg.setAttribute('height', H);
    svg.setAttribute('role', 'img');
    const points = [];
    for (let i = 1; i < list.length; i++) {
      const dt = (list[i][0] - list[i - 1][0]) / 1000;
      if (dt > 0) points.push([list[i][0], Math.max(0, (list[i][1] - list[i - 1][1]) / dt)]);
    }
    if (points.length === 1) points.unshift([points[0][0] - REFRESH_MS, points[0][1]]);
    const max = Math.max(1, ...points.map((p) => p[1]));
    const now = Date.now();
    // the time axis spans what has been sampled, from one minute up to fifteen
    const span = Math.min(HISTORY_MS, Math.max(60000, list.length ? now - list[0][0] : 0));
    const poly = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    poly.setAttribute('points', points.map(([t, v]) =>
      `${(W * (1 - (now - t) / span)).toFixed(1)},${(H - 2 - (H - 4) * v / max).toFixed(1)}`).join(' '));
    svg.append(poly);
    const label = points.length ? `records per second over the last 15 minutes, peak ${formatRate(max)}` : 'no samples yet';
    svg.setAttribute('aria-label', label);
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = label;
    svg.append(title);
    return svg;
  }

  // ---- shared pieces ----
  const badge = (state) => h('span', { class: 'state ' + (state || ''), 'data-state': state || '' }, state || '?');
  const shortClass = (c) => (c || '').split('.').pop();
  function taskCounts(tasks) {
    const n = { RUNNING: 0, PAUSED: 0, FAILED: 0 };
    for (const t of tasks) if (t.state in n) n[t.state]++;
    return h('span', { class: 'counts' },
      h('span', { class: 'ok' }, `${n.RUNNING} running`),
      h('span', { class: n.PAUSED ? 'warn' : 'muted' }, `${n.PAUSED} paused`),
      h('span', { class: n.FAILED ? 'bad' : 'muted' }, `${n.FAILED} failed`),
      h('span', { class: 'muted' }, `of ${tasks.length}`));
  }
  function notice(kind, text) {
    return h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, text);
  }
  function setLive(text) {
    document.getElementById('live').textContent = text;
  }
  // asks before an action that loses position; resolves true when confirmed
  function confirmAction(title, text) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
      document.getElementById('confirm-cancel').focus();
    });
  }
  // replaces `el`'s children only when what they show changed, so focus and selection survive
  function update(el, key, build) {
    if (el.dataset.key === key) return;
    el.dataset.key = key;
    el.replaceChildren(...[].concat(build()).filter((c) => c !== null && c !== undefined && c !== false));
  }

  // ---- overview ----
  async function overview() {
    const root = main();
    if (!root.querySelector('#overview')) {
      root.replaceChildren(
        h('div', { id: 'overview' },
          h('h1', {}, 'Connectors', h('a', { class: 'button', href: '#/new', id: 'new-connector' }, 'New connector')),
          h('section', { class: 'card', 'aria-label': 'Worker' }, h('dl', { class: 'facts', id: 'worker' })),
          h('div', { id: 'overview-error' }),
          h('div', { class: 'scroll' }, h('table', { id: 'connectors' },
            h('thead', {}, h('tr', {},
              h('th', {}, 'Name'), h('th', {}, 'Type'), h('th', { class: 'hide-narrow' }, 'Class'),
              h('th', {}, 'State'), h('th', {}, 'Tasks'), h('th', { class: 'num' }, 'Records/s'),
              h('th', { class: 'num', title: 'sinks: the broker\'s end offsets less the committed offsets' }, 'Sink lag'))),
            h('tbody', {}))),
          h('p', { class: 'muted', id: 'lag-note' })));
    }
    const [info, health, list] = await Promise.all([
      api('GET', '/').catch((e) => ({ error: e.message })),
      api('GET', '/health').catch((e) => ({ status: 'unreachable', message: e.message })),
      api('GET', '/connectors?expand=status&expand=info'),
    ]);
    const cluster = info.cluster || {};
    const facts = [
      ['Version', info.version || '?'],
      ['Commit', info.commit || '?'],
      ['Mode', cluster.mode || 'not reported'],
      ['Worker', cluster.worker_id || '—'],
    ];
    if (cluster.mode === 'distributed') {
      facts.push(['Leader', cluster.leader || 'none yet'], ['Generation', cluster.generation ?? '—'],
        ['Group', cluster.group_id || '—']);
    }
    // the workers the statuses name (Kafka's REST API lists no group members)
    const workers = new Set();
    for (const entry of Object.values(list)) {
      const st = entry.status || {};
      if (st.connector && st.connector.worker_id) workers.add(st.connector.worker_id);
      for (const t of st.tasks || []) if (t.worker_id) workers.add(t.worker_id);
    }
    if (cluster.mode !== 'standalone') facts.push(['Workers running work', [...workers].sort().join(', ') || 'none yet']);
    facts.push(['Kafka cluster', info.kafka_cluster_id || 'not reported'],
      ['Worker health', `${health.status || '?'}${health.message ? ': ' + health.message : ''}`]);
    if (cluster.broker) facts.push(['Broker', cluster.broker]);
    update(document.getElementById('worker'), JSON.stringify(facts), () =>
      facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { 'data-fact': k }, v))));
    const names = Object.keys(list).sort();
    const rows = names.map((name) => {
      const status = (list[name].status) || { connector: {}, tasks: [] };
      const info = list[name].info || { config: {}, type: status.type };
      const type = status.type || info.type || '';
      return { name, type, cls: (info.config || {})['connector.class'] || '', state: status.connector.state,
        tasks: status.tasks || [], rate: connectorRate(name, status.tasks || []),
        lag: type === 'sink' ? sinkLag(name) : '' };
    });
    update(document.querySelector('#connectors tbody'), JSON.stringify(rows), () => rows.length
      ? rows.map((r) => h('tr', { 'data-connector': r.name },
        h('td', {}, h('a', { href: '#/connector/' + enc(r.name) }, r.name)),
        h('td', {}, r.type), h('td', { class: 'hide-narrow' }, shortClass(r.cls)),
        h('td', {}, badge(r.state)), h('td', {}, taskCounts(r.tasks)),
        h('td', { class: 'num', 'data-rate': r.name }, formatRate(r.rate)),
        h('td', { class: 'num', 'data-lag': r.name }, r.lag)))
      : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No connectors yet. ',
        h('a', { href: '#/new' }, 'Create one'), '.')));
    document.getElementById('lag-note').textContent = metricsServed
      ? 'Records/s are measured by this page from the worker\'s counters while it is open. Sink lag is the broker\'s end offsets less the committed offsets, for the sink tasks of this worker; "unreliable" where the broker reports an end offset below a committed one.'
      : 'This worker serves no /metrics, so records per second and sink lag are not shown.';
  }

  // ---- connector page ----
  async function connectorPage(name) {
    const root = main();
    if (root.dataset.connector !== name || !root.querySelector('#connector')) {
      root.dataset.connector = name;
      root.replaceChildren(h('div', { id: 'connector' },
        h('p', {}, h('a', { href: '#/' }, '← Connectors')),
        h('h1', {}, h('span', { id: 'connector-name' }, name), h('span', { id: 'connector-state' })),
        h('div', { id: 'connector-error' }),
        h('div', { class: 'buttons', id: 'actions', role: 'toolbar', 'aria-label': 'Connector actions' }),
        h('div', { id: 'connector-trace' }),
        h('h2', {}, 'Tasks'),
        h('div', { class: 'scroll' }, h('table', { id: 'tasks' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'State'), h('th', {}, 'Worker'),
            h('th', { class: 'num' }, 'Records/s'), h('th', { class: 'hide-narrow' }, 'Last 15 minutes'), h('th', {}, ''))),
          h('tbody', {}))),
        h('h2', {}, 'Offsets'), h('div', { id: 'offsets' }),
        h('h2', {}, 'Active topics'), h('div', { id: 'topics' }),
        h('h2', {}, 'Configuration'),
        h('div', { class: 'scroll' }, h('table', { id: 'config' }, h('tbody', {})))));
    }
    let status;
    try {
      status = await api('GET', `/connectors/${enc(name)}/status`);
    } catch (e) {
      if (e.status === 404) {
        root.replaceChildren(notice('info', `Connector ${name} does not exist (any more).`),
          h('p', {}, h('a', { href: '#/' }, '← Connectors')));
        root.dataset.connector = '';
        return;
      }
      throw e;
    }
    const [config, offsets, topics] = await Promise.all([
      api('GET', `/connectors/${enc(name)}/config`),
      api('GET', `/connectors/${enc(name)}/offsets`).catch((e) => ({ error: e.message })),
      api('GET', `/connectors/${enc(name)}/topics`).catch((e) => ({ error: e.message })),
    ]);
    const state = status.connector.state;
    update(document.getElementById('connector-state'), state, () => badge(state));
    renderActions(name, state, status);
    update(document.getElementById('connector-trace'), status.connector.trace || '', () =>
      status.connector.trace ? [h('h2', {}, 'Connector failure'), h('pre', { class: 'trace' }, status.connector.trace)] : []);
    const taskRows = status.tasks.map((t) => ({ ...t, rate: formatRate(rate(name, t.id)), n: (samples.get(name + '/' + t.id) || []).length }));
    update(document.querySelector('#tasks tbody'), JSON.stringify(taskRows), () => taskRows.length
      ? taskRows.flatMap((t) => [
        h('tr', { 'data-task': t.id },
          h('td', {}, String(t.id)), h('td', {}, badge(t.state)), h('td', { 'data-worker': t.id }, t.worker_id),
          h('td', { class: 'num', 'data-task-rate': t.id }, t.rate),
          h('td', { class: 'hide-narrow' }, sparkline(name, t.id)),
          h('td', {}, h('button', { class: 'small', 'data-restart-task': t.id,
            onclick: () => act(`Restart task ${t.id}`, 'POST', `/connectors/${enc(name)}/tasks/${t.id}/restart`) }, 'Restart'))),
        t.trace ? h('tr', { class: 'trace-row' }, h('td', { colspan: 6 },
          h('pre', { class: 'trace', 'data-trace': t.id }, t.trace))) : null,
      ])
      : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, state === 'STOPPED' ? 'Stopped: no tasks.' : 'No tasks yet.')));
    const ends = [...(endOffsets.get(name) || new Map())];
    update(document.getElementById('offsets'), JSON.stringify([offsets, ends]), () => renderOffsets(offsets, status.type, name));
    update(document.getElementById('topics'), JSON.stringify(topics), () => {
      if (topics.error) return h('p', { class: 'muted' }, topics.error);
      const list = (topics[name] || {}).topics || [];
      return h('p', {}, list.length ? list.join(', ') : 'none yet');
    });
    const keys = Object.keys(config).sort();
    update(document.querySelector('#config tbody'), JSON.stringify(config), () =>
      keys.map((k) => h('tr', {}, h('td', { class: 'key' }, k), h('td', { class: 'value', 'data-key': k }, config[k]))));
  }

  // a sink partition's lag: the broker's end offset less the committed offset, or why not
  function lagOf(name, tp, committed) {
    const end = (endOffsets.get(name) || new Map()).get(tp);
    if (end === undefined) return { end: null, text: metricsServed ? 'not reported yet' : 'not reported by this worker' };
    if (end < committed) return { end, text: 'unreliable: the broker reports an end below the committed offset' };
    return { end, lag: end - committed, text: String(end - committed) };
  }
  // the sum of a sink's partition lags from this worker's counters, when each one is believable
  function sinkLag(name) {
    const committed = committedOffsets.get(name);
    if (!committed || !committed.size) return '—';
    let total = 0;
    for (const [tp, offset] of committed) {
      const l = lagOf(name, tp, offset);
      if (l.lag === undefined) return l.end === null ? '—' : 'unreliable';
      total += l.lag;
    }
    return total.toLocaleString('en');
  }

  function renderOffsets(offsets, type, name) {
    if (offsets.error) return h('p', { class: 'muted' }, offsets.error);
    const list = offsets.offsets || [];
    if (!list.length) return h('p', { class: 'muted' }, 'none committed yet');
    if (type !== 'sink') {
      return h('div', { class: 'scroll' }, h('table', { id: 'offsets-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Partition'), h('th', {}, 'Offset'))),
        h('tbody', {}, list.map((o) => h('tr', {},
          h('td', { class: 'value' }, JSON.stringify(o.partition)), h('td', { class: 'value' }, JSON.stringify(o.offset)))))));
    }
    return h('div', { class: 'scroll' }, h('table', { id: 'offsets-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Topic partition'), h('th', { class: 'num' }, 'Committed offset'),
        h('th', { class: 'num' }, 'End offset (broker)'), h('th', { class: 'num' }, 'Lag'))),
      h('tbody', {}, list.map((o) => {
        const tp = `${o.partition.kafka_topic}-${o.partition.kafka_partition}`;
        const lag = lagOf(name, tp, o.offset.kafka_offset);
        return h('tr', { 'data-tp': tp },
          h('td', { class: 'value' }, tp), h('td', { class: 'num' }, String(o.offset.kafka_offset)),
          h('td', { class: 'num' }, lag.end === null ? '—' : String(lag.end)),
          h('td', { class: 'num', 'data-lag': tp }, lag.text));
      }))));
  }

  function renderActions(name, state, status) {
    const failed = status.tasks.some((t) => t.state === 'FAILED') || state === 'FAILED';
    const key = `${state}/${failed}`;
    update(document.getElementById('actions'), key, () => {
      const path = `/connectors/${enc(name)}`;
      const b = (id, label, enabled, onclick, cls) =>
        h('button', { id: 'action-' + id, class: cls, disabled: !enabled, onclick }, label);
      return [
        b('pause', 'Pause', state === 'RUNNING', () => act('Pause', 'PUT', path + '/pause')),
        b('resume', 'Resume', state === 'PAUSED' || state === 'STOPPED', () => act('Resume', 'PUT', path + '/resume')),
        b('restart', 'Restart all', state !== 'STOPPED',
          () => act('Restart', 'POST', path + '/restart?includeTasks=true&onlyFailed=false')),
        b('restart-failed', 'Restart failed', failed,
          () => act('Restart failed', 'POST', path + '/restart?includeTasks=true&onlyFailed=true')),
        b('stop', 'Stop', state !== 'STOPPED', () => act('Stop', 'PUT', path + '/stop')),
        h('a', { class: 'button', id: 'action-edit', href: '#/edit/' + enc(name) }, 'Edit config'),
        b('reset-offsets', 'Reset offsets', state === 'STOPPED', async () => {
          if (await confirmAction(`Reset the offsets of ${name}?`,
            'The connector loses its position: a source reads again from the start, a sink from its consumer\'s reset policy.')) {
            act('Reset offsets', 'DELETE', path + '/offsets');
          }
        }, 'danger'),
        b('edit-offsets', 'Edit offsets', state === 'STOPPED', () => editOffsets(name)),
        b('delete', 'Delete', true, async () => {
          if (await confirmAction(`Delete ${name}?`, 'Its tasks stop and its configuration is removed. Offsets are kept.')) {
            await act('Delete', 'DELETE', path);
            location.hash = '#/';
          }
        }, 'danger'),
      ];
    });
  }

  async function editOffsets(name) {
    const current = await api('GET', `/connectors/${enc(name)}/offsets`);
    const area = h('textarea', { id: 'offsets-edit', 'aria-label': 'Offsets as JSON' }, JSON.stringify(current, null, 2));
    const box = h('div', { class: 'card', id: 'offsets-editor' },
      h('p', {}, 'Edit the offsets (Kafka\'s KIP-875 body: {"offsets":[{"partition":…,"offset":…}]}; a null offset removes one).'),
      area,
      h('div', { class: 'buttons' },
        h('button', { class: 'primary', id: 'offsets-save', onclick: async () => {
          let body;
          try { body = JSON.parse(area.value); } catch (e) { showError('The offsets are not valid JSON: ' + e.message); return; }
          if (await confirmAction(`Change the offsets of ${name}?`, 'The connector resumes from the offsets you set.')) {
            await act('Edit offsets', 'PATCH', `/connectors/${enc(name)}/offsets`, body);
            box.remove();
          }
        } }, 'Save offsets'),
        h('button', { onclick: () => box.remove() }, 'Cancel')));
    document.getElementById('offsets').after(box);
    area.focus();
  }

  function showError(text) {
    const slot = document.getElementById('connector-error') || document.getElementById('overview-error');
    if (slot) slot.replaceChildren(notice('error', text));
  }

  async function act(label, method, path, body) {
    try {
      const res = await api(method, path, body);
      setLive(`${label}: done${res && res.message ? ' — ' + res.message : ''}`);
      const slot = document.getElementById('connector-error');
      if (slot) slot.replaceChildren();
      refresh();
    } catch (e) {
      showError(`${label} failed: ${e.message}`);
    }
  }

  // ---- routing and the live refresh ----
  let timer = null;
  let busy = false;
  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
    if (hash.startsWith('/connector/')) return { page: 'connector', name: hash.slice('/connector/'.length) };
    if (hash === '/new') return { page: 'form' };
    if (hash.startsWith('/edit/')) return { page: 'form', name: hash.slice('/edit/'.length) };
    return { page: 'overview' };
  }
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const r = route();
      if (r.page === 'form') return;
      await sampleMetrics();
      if (r.page === 'connector') await connectorPage(r.name);
      else await overview();
      setLive(`updated ${new Date().toLocaleTimeString('en-GB')}`);
    } catch (e) {
      setLive(`not reachable: ${e.message}`);
      showError(`The worker did not answer: ${e.message}`);
    } finally {
      busy = false;
    }
  }
  function navigate() {
    const r = route();
    main().replaceChildren();
    main().dataset.connector = '';
    if (r.page === 'form') ConsoleForm.render(r.name);
    else refresh();
    main().focus({ preventScroll: true });
  }
  function start() {
    window.addEventListener('hashchange', navigate);
    navigate();
    timer = setInterval(refresh, REFRESH_MS);
  }

  return { h, api, enc, notice, setLive, confirmAction, shortClass, start, stop: () => clearInterval(timer) };
})();

document.addEventListener('DOMContentLoaded', () => Console.start());
