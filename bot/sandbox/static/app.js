// The Handoff sandbox page: shows one person what Slack would show them,
// from the state of the built-in stand-in for Slack, and sends what they do
// to the sandbox, which signs it and posts it to the bot's real endpoints.
// Bot text is only ever put on the page as text nodes, never as HTML.
'use strict';

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const page = {
  user: localStorage.getItem('handoff-sandbox-user') || '',
  extra: JSON.parse(localStorage.getItem('handoff-sandbox-extra') || '[]'),
  where: 'dm',           // 'dm', 'home' or a channel id
  data: null,            // the last State
  rev: '',
  names: {},             // user id -> name
  seenEphemerals: null,  // ts of ephemerals already shown, per user load
  seenMessages: {},      // channel -> count the person has looked at
  modalKey: '',
  clientErrors: {},      // what the page refuses before sending, as Slack's client does
  poll: null,            // AbortController of the running poll
  nowAt: 0,              // performance.now() when data.now was received
  ephemeralMs: 8000,     // how long an ephemeral answer shows before it fades
};

// ---- talking to the sandbox -------------------------------------------

async function post(path, body) {
  const resp = await fetch('/sandbox/api/' + path, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(Object.assign({user: page.user}, body)),
  });
  const out = await resp.json().catch(() => ({error: resp.statusText}));
  if (!resp.ok) {
    problem(out.error || resp.statusText);
    throw new Error(out.error);
  }
  refresh();
  return out;
}

function problem(text) {
  const p = $('#problem');
  p.textContent = text;
  p.hidden = false;
  clearTimeout(problem.timer);
  problem.timer = setTimeout(() => { p.hidden = true; }, 6000);
}

// refresh restarts the poll at once, without waiting for a change.
function refresh() {
  page.rev = '';
  if (page.poll) page.poll.abort();
}

async function pollLoop() {
  for (;;) {
    const ctl = new AbortController();
    page.poll = ctl;
    const user = page.user;
    try {
      const resp = await fetch('/sandbox/api/state?user=' + encodeURIComponent(user) + '&rev=' + page.rev, {signal: ctl.signal});
      if (!resp.ok) throw new Error(await resp.text());
      const data = await resp.json();
      if (user === page.user) {
        page.rev = data.rev;
        render(data);
      }
    } catch (err) {
      if (!ctl.signal.aborted) {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

// ---- people ------------------------------------------------------------

function nameOf(id) { return page.names[id] || id; }

function renderPeople(people) {
  const sel = $('#who');
  const key = JSON.stringify([people, page.extra]);
  if (sel.dataset.key !== key) {
    sel.dataset.key = key;
    sel.replaceChildren();
    for (const p of people) {
      const o = el('option', '', p.name + (p.about ? ' (' + p.about + ')' : ''));
      o.value = p.id;
      sel.append(o);
    }
    for (const id of page.extra) {
      if (people.some((p) => p.id === id)) continue;
      const o = el('option', '', id);
      o.value = id;
      sel.append(o);
    }
  }
  sel.value = page.user;
}

function become(id) {
  if (!id || id === page.user) return;
  page.user = id;
  localStorage.setItem('handoff-sandbox-user', id);
  page.seenEphemerals = null;
  page.seenMessages = {};
  page.modalKey = '';
  page.data = null;
  $('#pane').replaceChildren();
  $('#toasts').replaceChildren(); // what was shown to the last person is theirs
  if (page.where === 'home') openHome();
  refresh();
}

// ---- rendering -----------------------------------------------------------

function render(data) {
  const first = page.data === null;
  page.data = data;
  page.nowAt = performance.now();
  page.names = {};
  for (const p of data.people) page.names[p.id] = p.name;
  renderPeople(data.people);
  tick();
  $('#ahead').textContent = data.ahead ? '(+' + data.ahead + ' ahead)' : '';
  renderNav(data);
  renderPane(data, first);
  renderToasts(data);
  renderModal(data.modal);
}

function conversations(data) {
  return [data.dm].concat(data.channels || []);
}

function renderNav(data) {
  const nav = $('#nav');
  nav.replaceChildren();
  const item = (key, label, count) => {
    const b = el('button', page.where === key ? 'current' : '');
    b.type = 'button';
    b.dataset.nav = key;
    b.append(el('span', '', label));
    if (count > 0 && page.where !== key) b.append(el('span', 'badge', String(count)));
    b.onclick = () => go(key);
    nav.append(b);
  };
  nav.append(el('h4', '', 'Handoff app'));
  item('home', '🏠 Home', 0);
  item('dm', '💬 Messages', unread(data.dm));
  nav.append(el('h4', '', 'Channels'));
  for (const c of data.channels || []) item(c.id, '# ' + c.name, unread(c));
  nav.append(el('h4', '', 'Sandbox'));
  item('data', '📊 Reports and data', 0);
}

function unread(c) {
  return Math.max(0, c.messages.length - (page.seenMessages[c.id] || 0));
}

function go(where) {
  page.where = where;
  if (where === 'home') openHome();
  if (page.data) {
    renderNav(page.data);
    renderPane(page.data, true);
  }
}

function openHome() {
  // Slack sends app_home_opened each time the tab is opened.
  post('home', {}).catch(() => {});
}

function renderPane(data, jump) {
  const pane = $('#pane');
  if (page.where === 'data') {
    $('#title').textContent = 'Reports and data';
    pane.replaceChildren(renderData(data));
    return;
  }
  if (page.where === 'home') {
    $('#title').textContent = 'Home · Handoff';
    pane.replaceChildren();
    if (data.home) {
      pane.append(renderBlocks(JSON.parse(JSON.stringify(data.home.blocks || [])), {home: true}));
    } else {
      pane.append(el('p', 'empty', 'Handoff has not published a Home tab for ' + nameOf(data.user) + ' yet.'));
    }
    return;
  }
  const conv = conversations(data).find((c) => c.id === page.where) || data.dm;
  if (conv === data.dm) page.where = 'dm';
  $('#title').textContent = conv === data.dm ? 'Handoff (direct messages with ' + nameOf(data.user) + ')' : '# ' + conv.name;
  const before = page.seenMessages[conv.id] || 0;
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  pane.replaceChildren();
  if (conv.messages.length === 0) {
    pane.append(el('p', 'empty', conv === data.dm
      ? 'No messages yet. Type /request purchase below to start a request.'
      : 'Nothing posted in this channel yet: outcomes of its requests appear here.'));
  }
  conv.messages.forEach((m, i) => {
    const row = el('div', 'message' + (i >= before && !jump ? ' fresh' : ''));
    row.dataset.ts = m.ts;
    row.append(el('div', 'avatar', 'H'));
    const body = el('div');
    const who = el('div', 'author', 'Handoff');
    who.append(el('small', '', 'APP'));
    body.append(who);
    body.append(renderMessage(m, {channel: conv.id, ts: m.ts}));
    if (m.edited) body.append(el('span', 'edited', '(edited)'));
    row.append(body);
    pane.append(row);
  });
  page.seenMessages[conv.id] = conv.messages.length;
  if (jump || atBottom || conv.messages.length > before) pane.scrollTop = pane.scrollHeight;
}

// renderData shows what reads the sandbox's data: the report, export and
// digest made at the sandbox's time, and the command lines that read the
// same store on the real clock.
function renderData(data) {
  const d = data.data || {commands: [], downloads: []};
  const box = el('div', 'data');
  box.append(el('h3', '', 'Made now, at the sandbox’s time' + (data.ahead ? ' (' + data.ahead + ' ahead of the real clock)' : '')));
  const files = el('ul', 'downloads');
  for (const f of d.downloads) {
    const li = el('li');
    const a = el('a', '', f.title);
    a.href = '/sandbox/api/download/' + encodeURIComponent(f.name);
    a.dataset.download = f.name;
    if (f.name.endsWith('.txt')) {
      a.target = '_blank';
      a.rel = 'noopener';
    } else {
      a.download = f.name;
    }
    li.append(a, el('span', 'about', ' · ' + f.about));
    files.append(li);
  }
  box.append(files);
  box.append(el('h3', '', 'From the command line'));
  box.append(el('p', '', 'While the sandbox runs, these read its store from another terminal, started in the directory the sandbox was started from. ' +
    'They count on the real clock: once the sandbox’s clock has moved forward, what is open and overdue there differs from the files above.'));
  for (const c of d.commands) {
    box.append(el('pre', 'command', c.line));
    box.append(el('p', 'about', c.about));
  }
  box.append(renderSteps(data));
  return box;
}

// renderSteps lets the user run the app's "Request approval" Workflow
// Builder step, as a workflow in Slack would, and shows each run's outcome
// as Handoff completed it.
function renderSteps(data) {
  const box = el('div', 'steps');
  box.append(el('h3', '', 'A Workflow Builder step'));
  box.append(el('p', '', 'Runs Handoff’s “Request approval” step as a Slack workflow would, with ' + nameOf(data.user) +
    ' as the requester. Handoff starts the request and completes the step when it is decided.'));
  const wf = Object.assign(el('input'), {id: 'step-workflow', value: page.stepWorkflow || 'purchase'});
  const values = Object.assign(el('textarea'), {id: 'step-values', rows: 2,
    value: page.stepValues || '{"item": "Desk lamp", "amount": 40}'});
  wf.oninput = () => { page.stepWorkflow = wf.value; };
  values.oninput = () => { page.stepValues = values.value; };
  const run = Object.assign(el('button', '', 'Run the step'), {id: 'step-run', type: 'button'});
  run.onclick = () => post('step', {text: wf.value, step_values: values.value}).catch(() => {});
  const form = el('div', 'step-form');
  form.append(el('label', '', 'Workflow'), wf, el('label', '', 'Values (JSON)'), values, run);
  box.append(form);
  const list = el('ul', 'runs');
  for (const r of data.runs || []) {
    let what = 'running: waiting for the request to be decided';
    if (r.error) what = 'completed with an error: ' + r.error;
    else if (r.completed) what = 'completed: ' + Object.entries(r.outputs || {}).map(([k, v]) => k + ' = ' + v).join(', ');
    const li = el('li', '', r.id + ' · ' + (r.inputs.workflow || '') + ' · ' + what);
    li.dataset.run = r.id;
    list.append(li);
  }
  box.append(list);
  return box;
}

function renderMessage(m, ctx) {
  if (m.blocks && m.blocks.length) return renderBlocks(m.blocks, ctx);
  const d = el('div', 'blocks');
  d.append(mrkdwn(m.text || ''));
  return d;
}

function renderToasts(data) {
  const eph = data.ephemerals || [];
  if (page.seenEphemerals === null) {
    // Ephemeral messages are gone when Slack is reloaded: show only new ones.
    page.seenEphemerals = new Set(eph.map((m) => m.ts));
    return;
  }
  for (const m of eph) {
    if (page.seenEphemerals.has(m.ts)) continue;
    page.seenEphemerals.add(m.ts);
    const t = el('div', 'toast');
    t.append(el('small', '', 'Only visible to you'));
    t.append(renderMessage(m, {ephemeral: true}));
    $('#toasts').append(t);
    setTimeout(() => t.classList.add('fading'), page.ephemeralMs);
    setTimeout(() => t.remove(), page.ephemeralMs + 1000);
  }
}

function tick() {
  if (!page.data) return;
  const now = new Date(Date.parse(page.data.now) + (performance.now() - page.nowAt));
  $('#now').textContent = now.toLocaleString(undefined, {weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit'});
}

// ---- Block Kit ---------------------------------------------------------

function textObject(t) {
  if (!t) return document.createTextNode('');
  if (t.type === 'mrkdwn') return mrkdwn(t.text || '');
  return document.createTextNode(t.text || '');
}

function renderBlocks(blocks, ctx) {
  const out = el('div', 'blocks');
  for (const b of blocks) out.append(renderBlock(b, ctx));
  return out;
}

function renderBlock(b, ctx) {
  switch (b.type) {
    case 'header': {
      const h = el('div', 'bk-header');
      h.append(textObject(b.text));
      return h;
    }
    case 'section': {
      const s = el('div', 'bk-section');
      const main = el('div', 'text');
      if (b.text) main.append(textObject(b.text));
      if (b.fields) {
        const f = el('div', 'bk-fields');
        for (const t of b.fields) {
          const cell = el('div');
          cell.append(textObject(t));
          f.append(cell);
        }
        main.append(f);
      }
      s.append(main);
      if (b.accessory) s.append(renderElement(b.accessory, b, ctx));
      return s;
    }
    case 'context': {
      const c = el('div', 'bk-context');
      for (const e of b.elements || []) {
        if (e.type === 'image') {
          c.append(el('span', '', '🖼 ' + (e.alt_text || '')));
          continue;
        }
        const span = el('span');
        span.append(textObject(e));
        c.append(span);
      }
      return c;
    }
    case 'divider':
      return el('hr', 'bk-divider');
    case 'actions': {
      const a = el('div', 'bk-actions');
      for (const e of b.elements || []) a.append(renderElement(e, b, ctx));
      return a;
    }
    case 'input':
      return renderInput(b, ctx);
    case 'image':
      return el('div', 'bk-context', '🖼 ' + (b.alt_text || 'image'));
    default:
      return el('div', 'bk-unknown', 'This page does not show “' + b.type + '” blocks yet.');
  }
}

// renderElement draws an interactive element of a message or the Home tab;
// using it sends block_actions through the sandbox.
function renderElement(e, block, ctx) {
  const interactive = !ctx.ephemeral && !ctx.modal;
  const send = (option) => post('action', {
    home: !!ctx.home, channel: ctx.channel, ts: ctx.ts, action_id: e.action_id, option: option || '',
  }).catch(() => {});
  switch (e.type) {
    case 'button': {
      const btn = el('button', 'btn' + (e.style ? ' ' + e.style : ''));
      btn.type = 'button';
      btn.dataset.action = e.action_id;
      btn.append(textObject(e.text));
      btn.disabled = !interactive;
      btn.onclick = () => confirmFirst(e.confirm).then((yes) => {
        if (!yes) return;
        btn.disabled = true;
        send('').finally(() => { btn.disabled = false; });
      });
      return btn;
    }
    case 'overflow':
    case 'static_select': {
      const sel = el('select', e.type === 'overflow' ? 'overflow' : '');
      sel.dataset.action = e.action_id;
      sel.setAttribute('aria-label', e.type === 'overflow' ? 'More actions' : (e.placeholder && e.placeholder.text) || 'Choose');
      const head = el('option', '', e.type === 'overflow' ? '⋯' : (e.placeholder && e.placeholder.text) || 'Choose');
      head.value = '';
      sel.append(head);
      for (const o of optionsOf(e)) {
        const opt = el('option', '', o.text.text);
        opt.value = o.value;
        sel.append(opt);
      }
      sel.disabled = !interactive;
      // A menu's confirm is on the element: it asks whichever option is
      // picked.
      sel.onchange = () => {
        const value = sel.value;
        if (!value) return;
        confirmFirst(e.confirm).then((yes) => {
          if (yes) send(value);
          else sel.value = '';
        });
      };
      return sel;
    }
    case 'image':
      return el('span', '', '🖼 ' + (e.alt_text || ''));
    default:
      return el('span', 'bk-unknown', '[' + e.type + ']');
  }
}

// confirmFirst shows an element's confirm dialog, as Slack does before it
// sends the action, and resolves to whether the person confirmed. Without
// a confirm object it resolves to true at once. Deny, Escape and a click
// beside the dialog send nothing.
function confirmFirst(c) {
  if (!c) return Promise.resolve(true);
  return new Promise((resolve) => {
    const layer = $('#confirm-layer');
    const ok = $('#confirm-ok');
    const deny = $('#confirm-deny');
    $('#confirm-title').textContent = (c.title && c.title.text) || '';
    $('#confirm-text').replaceChildren(textObject(c.text));
    ok.textContent = (c.confirm && c.confirm.text) || 'Yes';
    deny.textContent = (c.deny && c.deny.text) || 'Cancel';
    ok.className = 'btn ' + (c.style === 'danger' ? 'danger-solid' : 'primary');
    const done = (yes) => {
      layer.hidden = true;
      ok.onclick = deny.onclick = layer.onclick = layer.onkeydown = null;
      resolve(yes);
    };
    ok.onclick = () => done(true);
    deny.onclick = () => done(false);
    layer.onclick = (ev) => { if (ev.target === layer) done(false); };
    layer.onkeydown = (ev) => { if (ev.key === 'Escape') done(false); };
    layer.hidden = false;
    deny.focus();
  });
}

function optionsOf(e) {
  if (e.options) return e.options;
  const out = [];
  for (const g of e.option_groups || []) out.push(...(g.options || []));
  return out;
}

// ---- modals ------------------------------------------------------------

function renderModal(modal) {
  const layer = $('#modal-layer');
  if (!modal) {
    layer.hidden = true;
    page.modalKey = '';
    return;
  }
  const view = modal.view;
  const key = view.id + ' ' + view.hash;
  if (key !== page.modalKey) {
    page.modalKey = key;
    page.clientErrors = {};
    $('#modal-title').textContent = view.title ? view.title.text : '';
    $('#modal-body').replaceChildren(renderBlocks(view.blocks || [], {modal: true}));
    $('#modal-submit').hidden = !view.submit;
    $('#modal-submit').textContent = view.submit ? view.submit.text : '';
    $('#modal-close').textContent = view.close ? view.close.text : 'Close';
    $('#modal').dataset.view = view.id;
    layer.hidden = false;
    const first = $('#modal-body input, #modal-body textarea, #modal-body select');
    if (first) first.focus();
  }
  showErrors(Object.assign({}, page.clientErrors, modal.errors));
}

function showErrors(errors) {
  for (const box of document.querySelectorAll('#modal-body .bk-input')) {
    const msg = errors[box.dataset.block] || '';
    box.classList.toggle('invalid', !!msg);
    box.querySelector('.error').textContent = msg;
  }
}

function renderInput(b) {
  const box = el('div', 'bk-input');
  box.dataset.block = b.block_id;
  const e = b.element || {};
  box.dataset.type = e.type;
  box.dataset.optional = b.optional ? 'yes' : '';
  box.dataset.actionId = e.action_id;
  const id = 'in-' + b.block_id;
  const label = el('label');
  label.htmlFor = id;
  label.append(textObject(b.label));
  if (b.optional) label.append(el('span', 'optional', ' (optional)'));
  box.append(label);
  let input;
  switch (e.type) {
    case 'plain_text_input':
      input = el(e.multiline ? 'textarea' : 'input');
      if (e.initial_value) input.value = e.initial_value;
      if (e.max_length) input.maxLength = e.max_length;
      break;
    case 'number_input':
      input = el('input');
      input.type = 'number';
      input.step = e.is_decimal_allowed ? 'any' : '1';
      if (e.min_value !== undefined) input.min = e.min_value;
      if (e.max_value !== undefined) input.max = e.max_value;
      if (e.initial_value) input.value = e.initial_value;
      break;
    case 'datepicker':
      input = el('input');
      input.type = 'date';
      if (e.initial_date) input.value = e.initial_date;
      break;
    case 'users_select': {
      input = el('select');
      input.append(Object.assign(el('option', '', (e.placeholder && e.placeholder.text) || 'Choose someone'), {value: ''}));
      const ids = Object.keys(page.names).sort((x, y) => nameOf(x).localeCompare(nameOf(y)));
      for (const u of page.extra) if (!ids.includes(u)) ids.push(u);
      for (const u of ids) input.append(Object.assign(el('option', '', nameOf(u)), {value: u}));
      if (e.initial_user) input.value = e.initial_user;
      break;
    }
    case 'static_select': {
      input = el('select');
      input.append(Object.assign(el('option', '', (e.placeholder && e.placeholder.text) || 'Choose'), {value: ''}));
      for (const o of optionsOf(e)) input.append(Object.assign(el('option', '', o.text.text), {value: o.value}));
      if (e.initial_option) input.value = e.initial_option.value;
      break;
    }
    default:
      input = el('div', 'bk-unknown', 'This page does not show “' + e.type + '” inputs yet.');
  }
  if (e.placeholder && input.placeholder !== undefined && e.type !== 'users_select' && e.type !== 'static_select') {
    input.placeholder = e.placeholder.text;
  }
  input.id = id;
  input.name = b.block_id;
  box.append(input);
  if (b.hint) box.append(el('div', 'hint', b.hint.text));
  box.append(el('div', 'error'));
  return box;
}

// checkModal finds what Slack's client refuses before it sends anything:
// empty required inputs and numbers out of range.
function checkModal() {
  const errors = {};
  for (const box of document.querySelectorAll('#modal-body .bk-input')) {
    const input = box.querySelector('input, textarea, select');
    if (!input) continue;
    if (!box.dataset.optional && input.value.trim() === '') {
      errors[box.dataset.block] = 'Please complete this required field.';
    } else if (box.dataset.type === 'number_input' && input.value !== '') {
      const v = Number(input.value);
      if (!Number.isFinite(v)) errors[box.dataset.block] = 'Please enter a number.';
      else if (input.min !== '' && v < Number(input.min)) errors[box.dataset.block] = 'Please enter a number of at least ' + input.min + '.';
      else if (input.max !== '' && v > Number(input.max)) errors[box.dataset.block] = 'Please enter a number of at most ' + input.max + '.';
    }
  }
  return errors;
}

// modalValues reads the modal's inputs into view state, as Slack sends it:
// block_id -> action_id -> value object.
function modalValues() {
  const values = {};
  for (const box of document.querySelectorAll('#modal-body .bk-input')) {
    const input = box.querySelector('input, textarea, select');
    if (!input) continue;
    const v = input.value === '' ? null : input.value;
    let state;
    switch (box.dataset.type) {
      case 'plain_text_input': state = {type: 'plain_text_input', value: v}; break;
      case 'number_input': state = {type: 'number_input', value: v}; break;
      case 'datepicker': state = {type: 'datepicker', selected_date: v}; break;
      case 'users_select': state = {type: 'users_select', selected_user: v}; break;
      case 'static_select': {
        const opt = v === null ? null : {text: {type: 'plain_text', text: input.selectedOptions[0].textContent, emoji: true}, value: v};
        state = {type: 'static_select', selected_option: opt};
        break;
      }
      default: continue;
    }
    values[box.dataset.block] = {[box.dataset.actionId]: state};
  }
  return values;
}

// ---- mrkdwn ------------------------------------------------------------

const unescapeText = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// mrkdwn renders Slack's mrkdwn as DOM nodes: *bold*, _italic_, ~strike~,
// `code`, ```blocks```, <@U…> mentions, <#C…> channels, <!date^…> dates,
// <url|links> and escaped text.
function mrkdwn(src) {
  const frag = document.createDocumentFragment();
  parseInto(frag, src);
  return frag;
}

const wordChar = /[\p{L}\p{N}]/u;

function parseInto(parent, s) {
  let buf = '';
  const flush = () => {
    if (buf) parent.append(document.createTextNode(unescapeText(buf)));
    buf = '';
  };
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c === '<') {
      const j = s.indexOf('>', i + 1);
      if (j > i + 1) {
        flush();
        parent.append(special(s.slice(i + 1, j)));
        i = j + 1;
        continue;
      }
    }
    if (s.startsWith('```', i)) {
      const j = s.indexOf('```', i + 3);
      if (j >= 0) {
        flush();
        parent.append(el('pre', '', unescapeText(s.slice(i + 3, j))));
        i = j + 3;
        continue;
      }
    }
    if (c === '`') {
      const j = s.indexOf('`', i + 1);
      if (j > i + 1 && !s.slice(i + 1, j).includes('\n')) {
        flush();
        parent.append(el('code', '', unescapeText(s.slice(i + 1, j))));
        i = j + 1;
        continue;
      }
    }
    if ((c === '*' || c === '_' || c === '~') && (i === 0 || !wordChar.test(s[i - 1]))) {
      const j = closing(s, i + 1, c);
      if (j > 0) {
        flush();
        const e = el({'*': 'b', '_': 'i', '~': 's'}[c]);
        parseInto(e, s.slice(i + 1, j));
        parent.append(e);
        i = j + 1;
        continue;
      }
    }
    if (c === '\n') {
      flush();
      parent.append(el('br'));
      i++;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
}

// closing finds the marker that closes one opened at from-1 on the same
// line, or -1.
function closing(s, from, mark) {
  if (from >= s.length || /\s/.test(s[from])) return -1;
  for (let j = from + 1; j < s.length; j++) {
    if (s[j] === '\n') return -1;
    if (s[j] === '<') {
      const k = s.indexOf('>', j);
      if (k > 0) { j = k; continue; }
    }
    if (s[j] === mark && !/\s/.test(s[j - 1]) && (j + 1 === s.length || !wordChar.test(s[j + 1]))) return j;
  }
  return -1;
}

function special(inner) {
  const [head, ...rest] = inner.split('|');
  const label = rest.join('|');
  if (head.startsWith('@')) {
    const id = head.slice(1);
    return el('span', 'mention', '@' + (page.names[id] || unescapeText(label) || id));
  }
  if (head.startsWith('#')) {
    const id = head.slice(1);
    const c = ((page.data && page.data.channels) || []).find((x) => x.id === id);
    return el('span', 'mention', '#' + (c ? c.name : unescapeText(label) || id));
  }
  if (head.startsWith('!date^')) {
    const [, ts, format] = head.split('^');
    const span = el('span', 'date', formatDate(Number(ts), format || '', unescapeText(label)));
    span.title = unescapeText(label);
    return span;
  }
  if (head.startsWith('!subteam^')) return el('span', 'mention', unescapeText(label) || '@group');
  if (head.startsWith('!')) return el('span', 'mention', '@' + head.slice(1));
  const url = unescapeText(head);
  if (/^(https?:|mailto:)/i.test(url)) {
    const a = el('a', '', unescapeText(label) || url);
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  return document.createTextNode(unescapeText(label || head));
}

// formatDate fills Slack's date tokens; "pretty" ones and {ago} are relative
// to the sandbox clock.
function formatDate(unix, format, fallback) {
  if (!Number.isFinite(unix)) return fallback;
  const d = new Date(unix * 1000);
  const now = page.data ? new Date(Date.parse(page.data.now)) : new Date();
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(d) - day(now)) / 86400000);
  const rel = {'-1': 'yesterday', '0': 'today', '1': 'tomorrow'}[diff];
  const fmt = (o) => d.toLocaleDateString('en-US', o);
  const dates = {
    date_num: d.toISOString().slice(0, 10),
    date: fmt({month: 'long', day: 'numeric', year: 'numeric'}),
    date_short: fmt({month: 'short', day: 'numeric', year: 'numeric'}),
    date_long: fmt({weekday: 'long', month: 'long', day: 'numeric', year: 'numeric'}),
  };
  dates.date_pretty = rel || dates.date;
  dates.date_short_pretty = rel || fmt({month: 'short', day: 'numeric'});
  dates.date_long_pretty = rel || dates.date_long;
  dates.time = d.toLocaleTimeString('en-US', {hour: 'numeric', minute: '2-digit'});
  dates.time_secs = d.toLocaleTimeString('en-US', {hour: 'numeric', minute: '2-digit', second: '2-digit'});
  dates.ago = ago((now - d) / 1000);
  const out = format.replace(/\{(\w+)\}/g, (m, k) => (k in dates ? dates[k] : m));
  return out || fallback;
}

function ago(secs) {
  const future = secs < 0;
  secs = Math.abs(secs);
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  let text = 'just now';
  for (const [n, name] of units) {
    if (secs >= n) {
      const k = Math.floor(secs / n);
      text = k + ' ' + name + (k === 1 ? '' : 's');
      break;
    }
  }
  if (text === 'just now') return text;
  return future ? 'in ' + text : text + ' ago';
}

// ---- wiring ------------------------------------------------------------

function start() {
  $('#who').onchange = (ev) => become(ev.target.value);
  $('#free').onsubmit = (ev) => {
    ev.preventDefault();
    const id = $('#free-id').value.trim().toUpperCase();
    if (!/^[UW][A-Z0-9]{2,20}$/.test(id)) {
      problem('A Slack user id starts with U or W, then capital letters and digits: U0ZOE');
      return;
    }
    if (!page.extra.includes(id)) {
      page.extra.push(id);
      localStorage.setItem('handoff-sandbox-extra', JSON.stringify(page.extra));
    }
    $('#free-id').value = '';
    become(id);
  };
  $('#composer').onsubmit = (ev) => {
    ev.preventDefault();
    // A bare /request is a command like any other: the bot answers it
    // with help, shown as its ephemeral answer.
    const text = $('#command').value.trim();
    if (!text) return;
    post('command', {text}).then(() => { $('#command').value = '/request '; }).catch(() => {});
  };
  $('#modal').onsubmit = (ev) => {
    ev.preventDefault();
    page.clientErrors = checkModal();
    if (Object.keys(page.clientErrors).length) {
      showErrors(page.clientErrors);
      return;
    }
    const btn = $('#modal-submit');
    btn.disabled = true;
    post('submit', {view_id: $('#modal').dataset.view, values: modalValues()})
      .catch(() => {}).finally(() => { btn.disabled = false; });
  };
  $('#modal-close').onclick = () => post('close', {view_id: $('#modal').dataset.view}).catch(() => {});
  for (const b of document.querySelectorAll('[data-advance]')) {
    b.onclick = () => post('advance', {by: b.dataset.advance})
      .then((out) => problemless(out.note)).catch(() => {});
  }
  setInterval(tick, 10000);
  fetch('/sandbox/api/state?user=U0ANN').then((r) => r.json()).then((data) => {
    if (!page.user) page.user = (data.people.find((p) => p.id === 'U0ANN') || data.people[0] || {id: 'U0ANN'}).id;
    pollLoop();
  });
}

// problemless shows an informational note in the toast area.
function problemless(text) {
  if (!text) return;
  const t = el('div', 'toast', text);
  $('#toasts').append(t);
  setTimeout(() => t.classList.add('fading'), 5000);
  setTimeout(() => t.remove(), 6000);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
