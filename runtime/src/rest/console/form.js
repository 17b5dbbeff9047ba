// sluice console: creating and editing a connector. The form is built from
// `GET /connector-plugins/{class}/config`; `PUT /connector-plugins/{class}/config/validate` runs
// before anything is saved and its errors are shown beside their fields.
'use strict';

const ConsoleForm = (() => {
  const { h, api, enc, notice } = Console;
  const HIDDEN = '[hidden]';

  // `.properties` text to a map: `#`/`!` comments, `=`, `:` or space separators, `\` line
  // continuations and Java's escapes
  function parseProperties(text) {
    const out = {};
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i].replace(/^\s+/, '');
      if (!line || line[0] === '#' || line[0] === '!') continue;
      while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
        line = line.slice(0, -1) + lines[++i].replace(/^\s+/, '');
      }
      const m = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]?\s*(.*)$/.exec(line);
      const unescape = (s) => s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c) =>
        c[0] === 'u' && c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16))
          : ({ t: '\t', n: '\n', r: '\r', f: '\f' })[c] || c);
      out[unescape(m[1])] = unescape(m[2]);
    }
    return out;
  }
  // a pasted file: Kafka's `{"name","config"}` JSON, a flat JSON map, or `.properties`
  function parsePasted(text) {
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      const json = JSON.parse(trimmed);
      const config = Object.assign({}, json.config || json);
      if (json.config && json.name && !config.name) config.name = json.name;
      for (const k of Object.keys(config)) config[k] = config[k] === null ? '' : String(config[k]);
      return config;
    }
    return parseProperties(text);
  }

  let state = null; // { editing, original, definitions, plugins }

  async function render(editName) {
    const root = document.getElementById('main');
    const plugins = await api('GET', '/connector-plugins?connectorsOnly=true');
    let original = null;
    if (editName) original = await api('GET', `/connectors/${enc(editName)}/config`);
    state = { editing: editName || null, original, definitions: [], plugins };
    const select = h('select', { id: 'plugin', name: 'connector.class', onchange: () => loadDefinitions(select.value, {}) },
      h('option', { value: '' }, 'Choose a connector class…'),
      plugins.map((p) => h('option', { value: p.class }, `${p.class} (${p.type})`)));
    const nameInput = h('input', { id: 'connector-name-input', name: 'name', required: true, autocomplete: 'off',
      value: editName || '', readonly: editName ? true : null });
    const pasted = h('textarea', { id: 'paste', 'aria-label': 'A connector file to fill the form from' });
    root.replaceChildren(h('div', { id: 'form-page' },
      h('p', {}, h('a', { href: editName ? '#/connector/' + enc(editName) : '#/' }, '← Back')),
      h('h1', {}, editName ? `Edit ${editName}` : 'New connector'),
      h('div', { id: 'form-error' }),
      h('div', { class: 'card' },
        h('div', { class: 'field' }, h('label', { for: 'plugin' }, 'connector.class ', h('span', { class: 'required' }, '*')), select),
        h('div', { class: 'field', 'data-field': 'name' },
          h('label', { for: 'connector-name-input' }, 'name ', h('span', { class: 'required' }, '*')), nameInput,
          h('div', { class: 'field-error', id: 'error-name' }))),
      h('details', { class: 'card', open: editName ? null : true },
        h('summary', {}, 'Paste a .properties or JSON connector file'),
        pasted,
        h('div', { class: 'buttons' }, h('button', { id: 'fill', onclick: () => fillFromPasted(pasted.value) }, 'Fill the form'))),
      h('form', { class: 'config', id: 'config-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
        h('div', { id: 'fields' }),
        h('h2', {}, 'Other keys'),
        h('p', { class: 'muted' }, 'Keys the class does not list (converters, transforms, overrides), one key=value per line.'),
        h('textarea', { id: 'extra', name: 'extra', 'aria-label': 'Other keys, one key=value per line' }),
        h('div', { class: 'field-error', id: 'error-extra' }),
        h('div', { class: 'buttons' },
          h('button', { type: 'submit', class: 'primary', id: 'save' }, editName ? 'Validate and save' : 'Validate and create')))));
    if (original) {
      select.value = original['connector.class'] || '';
      select.disabled = true;
      await loadDefinitions(select.value, original);
    }
  }

  function fillFromPasted(text) {
    let config;
    try { config = parsePasted(text); } catch (e) { formError('The pasted text is neither JSON nor a .properties file: ' + e.message); return; }
    const select = document.getElementById('plugin');
    if (config['connector.class'] && !select.disabled) {
      // Kafka's aliases: the simple class name, with or without `Connector`
      const wanted = config['connector.class'].split('.').pop();
      const match = state.plugins.find((p) => p.class === config['connector.class'] ||
        [wanted, wanted + 'Connector'].includes(p.class.split('.').pop()));
      select.value = match ? match.class : '';
    }
    const name = document.getElementById('connector-name-input');
    if (config.name && !name.readOnly) name.value = config.name;
    loadDefinitions(select.value, config);
  }

  async function loadDefinitions(cls, values) {
    const fields = document.getElementById('fields');
    const extra = document.getElementById('extra');
    if (!cls) { fields.replaceChildren(); return; }
    const defs = await api('GET', `/connector-plugins/${enc(cls)}/config`);
    state.definitions = defs.filter((d) => d.name !== 'name' && d.name !== 'connector.class');
    const groups = new Map();
    for (const d of state.definitions) {
      const g = d.group || 'Connector';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(d);
    }
    fields.replaceChildren(...[...groups].map(([group, defs]) => h('fieldset', { class: 'group' },
      h('legend', {}, group), defs.map((d) => field(d, values[d.name])))));
    const known = new Set(state.definitions.map((d) => d.name).concat(['name', 'connector.class']));
    extra.value = Object.keys(values).filter((k) => !known.has(k)).sort().map((k) => `${k}=${values[k]}`).join('\n');
  }

  function field(d, value) {
    const id = 'field-' + d.name.replace(/[^A-Za-z0-9_-]/g, '_');
    const input = h('input', { id, name: d.name, 'data-key': d.name, autocomplete: 'off',
      type: d.type === 'PASSWORD' ? 'password' : 'text',
      placeholder: d.default_value === null || d.default_value === undefined ? '' : `default: ${d.default_value}`,
      'aria-describedby': id + '-doc ' + id + '-error' });
    if (value !== undefined) input.value = value;
    return h('div', { class: 'field', 'data-field': d.name },
      h('label', { for: id }, d.name, d.required ? h('span', { class: 'required' }, ' *') : null),
      input,
      h('div', { class: 'doc', id: id + '-doc' }, d.documentation || ''),
      h('div', { class: 'field-error', id: id + '-error', 'data-error-for': d.name }));
  }

  function formError(text) {
    document.getElementById('form-error').replaceChildren(text ? notice('error', text) : '');
  }

  // the config the form holds; `null` when the other keys do not parse
  function collect() {
    const config = {};
    const cls = document.getElementById('plugin').value;
    if (cls) config['connector.class'] = cls;
    config.name = document.getElementById('connector-name-input').value.trim();
    for (const input of document.querySelectorAll('#fields input')) {
      if (input.value !== '') config[input.name] = input.value;
    }
    Object.assign(config, parseProperties(document.getElementById('extra').value));
    return config;
  }

  function clearErrors() {
    formError('');
    for (const el of document.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of document.querySelectorAll('.field.invalid')) el.classList.remove('invalid');
  }

  // shows each key's errors beside its field; returns how many were shown anywhere
  function showValidation(result) {
    const elsewhere = [];
    let first = null;
    for (const c of result.configs || []) {
      const v = c.value || {};
      if (!v.errors || !v.errors.length) continue;
      const text = v.errors.join(' ');
      const slot = v.name === 'name' ? document.getElementById('error-name')
        : document.querySelector(`[data-error-for="${CSS.escape(v.name)}"]`);
      if (slot) {
        slot.textContent = text;
        slot.closest('.field').classList.add('invalid');
        first = first || slot.closest('.field').querySelector('input');
      } else {
        elsewhere.push(`${v.name}: ${text}`);
      }
    }
    if (elsewhere.length) {
      document.getElementById('error-extra').textContent = elsewhere.join('\n');
    }
    formError(`${result.error_count} problem${result.error_count === 1 ? '' : 's'} found: nothing was saved.`);
    if (first) first.focus(); else document.getElementById('extra').focus();
  }

  async function save() {
    clearErrors();
    const config = collect();
    if (!config['connector.class']) { formError('Choose a connector class.'); return; }
    if (!config.name) {
      document.getElementById('error-name').textContent = 'A connector needs a name.';
      return;
    }
    const button = document.getElementById('save');
    button.disabled = true;
    try {
      const result = await api('PUT', `/connector-plugins/${enc(config['connector.class'])}/config/validate`, config);
      if (result.error_count > 0) { showValidation(result); return; }
      const name = config.name;
      if (state.editing) {
        // only what changed, so secrets shown as [hidden] keep their stored values (KIP-477)
        const patch = {};
        for (const [k, v] of Object.entries(config)) if (state.original[k] !== v && v !== HIDDEN) patch[k] = v;
        for (const k of Object.keys(state.original)) if (!(k in config)) patch[k] = null;
        await api('PATCH', `/connectors/${enc(name)}/config`, patch);
      } else {
        await api('POST', '/connectors', { name, config });
      }
      Console.setLive(`${name} saved`);
      location.hash = '#/connector/' + enc(name);
    } catch (e) {
      formError(`Saving failed: ${e.message}`);
    } finally {
      button.disabled = false;
    }
  }

  return { render, parseProperties, parsePasted };
})();
