// The capi-deploy console page: deployments, one deployment's graph, state panel, executions, resources and
// timeline. Plain DOM (no framework, nothing loaded from elsewhere); text goes in with textContent only.

const SVG = 'http://www.w3.org/2000/svg';
const app = document.getElementById('app');
const STATUSES = ['not-started', 'running', 'succeeded', 'retried', 'caught', 'failed', 'cancelled'];
let info = { mode: 'local', canChange: false, canStop: false, where: '' };
let cleanup = [];
const graphs = new Map();

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs))
    if (value !== undefined) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: options.body ? { 'content-type': 'application/json' } : {},
    credentials: 'same-origin',
  });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : { problems: [await response.text()] };
  if (!response.ok)
    throw Object.assign(new Error((body.problems ?? []).join('\n')), { problems: body.problems ?? [] });
  return body;
}

const post = (path, body = {}) => api(path, { method: 'POST', body: JSON.stringify(body) });
const usd = (value) => (value === null || value === undefined ? '—' : `$${Number(value).toFixed(3)}`);
const when = (ms) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '—';
const problemList = (problems) =>
  h(
    'ul',
    { class: 'problems', role: 'alert' },
    problems.map((p) => h('li', { text: p })),
  );

function stream(query, handlers) {
  const source = new EventSource(`/api/events${query}`);
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handler(JSON.parse(message.data)));
  }
  cleanup.push(() => source.close());
  return source;
}

function debounce(fn, ms) {
  let timer = null;
  const debounced = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
  cleanup.push(() => clearTimeout(timer));
  return debounced;
}

function legend() {
  return h(
    'div',
    { class: 'legend' },
    STATUSES.map((status) => h('span', { class: `st-${status}`, text: status.replace('-', ' ') })),
  );
}

// ---- Deployments page ----

async function deploymentsPage() {
  const table = h('tbody');
  const notice = h('div', { class: 'notice' });
  const reload = async () => {
    try {
      const { deployments } = await api('/api/deployments');
      table.replaceChildren(
        ...deployments.map((row) =>
          h(
            'tr',
            { 'data-deployment': row.deployment },
            h('td', {}, h('a', { href: `#/d/${row.deployment}`, text: row.deployment })),
            h('td', { class: `status-${row.status}` }, row.status ? `${row.operation} ${row.status}` : '—'),
            h('td', { class: 'num', text: row.resources ?? '—' }),
            h('td', { class: 'num', text: row.billed ?? '—' }),
            h('td', { class: 'num', text: usd(row.hourlyUsd) }),
            h('td', { class: 'muted', text: row.note ?? '' }),
            h(
              'td',
              {},
              info.canChange
                ? h('button', { class: 'danger', onclick: () => remove(row.deployment) }, 'Delete')
                : null,
            ),
          ),
        ),
      );
      if (deployments.length === 0)
        table.append(h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No deployments yet.' })));
    } catch (error) {
      notice.replaceChildren(problemList(error.problems ?? [error.message]));
    }
  };
  const remove = async (name) => {
    if (!confirm(`Delete everything deployment ${name} owns?`)) return;
    try {
      const started = await post(`/api/deployments/${name}/delete`);
      location.hash = `#/d/${name}/${started.execution}`;
    } catch (error) {
      notice.replaceChildren(problemList(error.problems ?? [error.message]));
    }
  };
  app.replaceChildren(
    h('h1', { text: 'Deployments' }),
    notice,
    h(
      'table',
      { id: 'deployments' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Name', 'Latest execution', 'Resources', 'Billed', 'Per hour', '', ''].map((t) =>
            h('th', { text: t }),
          ),
        ),
      ),
      table,
    ),
    info.canChange
      ? createForm()
      : h('p', {
          class: 'muted',
          text: 'Read-only console: start it with --allow-changes to create or delete.',
        }),
  );
  await reload();
  stream('', { deployments: debounce(reload, 500) });
}

function createForm() {
  const text = h('textarea', {
    id: 'spec-text',
    spellcheck: 'false',
    placeholder: '{ "name": "sample", ... }',
  });
  const file = h('input', { type: 'file', id: 'spec-file', accept: '.json,application/json' });
  const out = h('div', { id: 'create-result' });
  let fileName = 'spec.json';
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    fileName = chosen.name;
    text.value = await chosen.text();
  });
  const submit = async (event) => {
    event.preventDefault();
    out.replaceChildren();
    try {
      const started = await post('/api/deployments', { spec: text.value, fileName });
      const name = JSON.parse(text.value).name;
      location.hash = `#/d/${name}/${started.execution}`;
    } catch (error) {
      out.replaceChildren(problemList(error.problems ?? [error.message]));
    }
  };
  return h(
    'section',
    {},
    h('h2', { text: 'Create a deployment' }),
    h('p', {
      class: 'muted',
      text: 'Upload or paste a deployment spec (the file of capi-deploy create); it is validated as capi-deploy validate does.',
    }),
    h(
      'form',
      { id: 'create-form', onsubmit: submit },
      h('p', {}, file),
      text,
      h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'create' }, 'Create')),
    ),
    out,
  );
}

// ---- Graph ----

function drawGraph(graph, onSelect) {
  const width = graph.width + 16;
  const height = graph.height + 16;
  const svg = s('svg', { class: 'graph', width, height, viewBox: `-8 -8 ${width} ${height}`, role: 'img' });
  svg.append(
    s(
      'defs',
      {},
      s(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        s('path', { d: 'M 0 0 L 10 5 L 0 10 z' }),
      ),
    ),
  );
  const nodes = new Map();
  const ordered = [...graph.nodes].sort(
    (a, b) => a.depth - b.depth || Number(b.container) - Number(a.container),
  );
  const containers = s('g');
  const lanes = s('g');
  const edges = s('g');
  const leaves = s('g');
  for (const node of ordered.filter((n) => n.container)) {
    const g = s('g', { class: 'node container st-not-started', 'data-state': node.name, tabindex: 0 });
    const title = s('title');
    title.textContent = `${node.name} (${node.type})`;
    const label = s('text', { x: node.x + 8, y: node.y + 17 });
    label.textContent = `${node.name}  ·  ${node.type}`;
    g.append(
      title,
      s('rect', { x: node.x, y: node.y, width: node.width, height: node.height, rx: 6 }),
      label,
    );
    containers.append(g);
    nodes.set(node.name, g);
  }
  for (const lane of graph.lanes) {
    const label = s('text', { x: lane.x + 6, y: lane.y + 14 });
    label.textContent = lane.label;
    lanes.append(
      s(
        'g',
        { class: 'lane' },
        s('rect', { x: lane.x, y: lane.y, width: lane.width, height: lane.height, rx: 4 }),
        label,
      ),
    );
  }
  for (const edge of graph.edges) {
    if (edge.points.length < 2) continue;
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' ');
    edges.append(s('path', { class: `edge ${edge.kind}`, d }));
  }
  for (const node of ordered.filter((n) => !n.container)) {
    const g = s('g', {
      class: `node leaf ${node.type === 'Task' ? 'task' : ''} st-not-started`,
      'data-state': node.name,
      tabindex: 0,
      role: 'button',
    });
    const title = s('title');
    title.textContent = `${node.name} (${node.type})`;
    const label = s('text', {
      x: node.x + node.width / 2,
      y: node.y + node.height / 2 + 4,
      'text-anchor': 'middle',
    });
    const room = Math.floor((node.width - 12) / 6.6);
    label.textContent = node.name.length > room ? `${node.name.slice(0, room - 1)}…` : node.name;
    g.append(
      title,
      s('rect', {
        x: node.x,
        y: node.y,
        width: node.width,
        height: node.height,
        rx: node.type === 'Task' ? 4 : 14,
      }),
      label,
    );
    leaves.append(g);
    nodes.set(node.name, g);
  }
  svg.append(containers, lanes, edges, leaves);
  svg.addEventListener('click', (event) => {
    const target = event.target.closest?.('[data-state]');
    if (target) onSelect(target.getAttribute('data-state'));
  });
  svg.addEventListener('keydown', (event) => {
    const target = event.target.closest?.('[data-state]');
    if (target && (event.key === 'Enter' || event.key === ' ')) onSelect(target.getAttribute('data-state'));
  });
  return { svg, nodes };
}

function paint(drawn, view) {
  for (const [name, g] of drawn.nodes) {
    const status = view.states[name] ?? 'not-started';
    const classes = [...g.classList].filter((c) => !c.startsWith('st-') && c !== 'blamed');
    classes.push(`st-${status}`);
    if (view.blamed === name) classes.push('blamed');
    g.setAttribute('class', classes.join(' '));
    g.setAttribute('data-status', status);
  }
}

// ---- Deployment page ----

async function deploymentPage(name, wanted) {
  const notice = h('div', { class: 'notice', id: 'notice' });
  const header = h('div');
  const actions = h('div', { class: 'actions' });
  const banner = h('div');
  const graphBox = h(
    'div',
    { class: 'graph-box', id: 'graph' },
    h('p', { class: 'muted', text: 'Loading the state machine…' }),
  );
  const panel = h(
    'aside',
    { class: 'panel', id: 'state-panel' },
    h('h2', { text: 'State' }),
    h('p', {
      class: 'muted',
      text: 'Select a state in the graph to see its visits, retries, error and cause.',
    }),
  );
  const executions = h('tbody');
  const resources = h('div', { id: 'resources' });
  const timeline = h('iframe', {
    class: 'timeline',
    id: 'timeline',
    sandbox: 'allow-scripts',
    title: 'Timeline',
  });
  app.replaceChildren(
    h('p', {}, h('a', { href: '#/', text: '← Deployments' })),
    header,
    actions,
    notice,
    banner,
    legend(),
    h('div', { class: 'layout' }, graphBox, panel),
    h('h2', { text: 'Executions' }),
    h(
      'table',
      { class: 'executions', id: 'executions' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Execution', 'Operation', 'Status', 'Started', 'Stopped'].map((t) => h('th', { text: t })),
        ),
      ),
      executions,
    ),
    h('h2', { text: 'Resources' }),
    resources,
    h('h2', { text: 'Timeline' }),
    timeline,
  );
  const say = (problems) => notice.replaceChildren(problemList(problems));
  let detail;
  try {
    detail = await api(`/api/deployments/${name}`);
  } catch (error) {
    say(error.problems ?? [error.message]);
    return;
  }
  const execution = wanted || detail.row.execution;
  let view = null;
  let drawn = null;
  let selected = null;

  const act = async (path, confirmText) => {
    if (confirmText && !confirm(confirmText)) return;
    try {
      const started = await post(path);
      if (started.execution && started.execution !== execution)
        location.hash = `#/d/${name}/${started.execution}`;
      else await refreshDetail();
    } catch (error) {
      say(error.problems ?? [error.message]);
    }
  };

  const renderActions = () => {
    const running = view?.status === 'RUNNING';
    const buttons = [];
    if (info.canChange) {
      const failedCreate = view?.machine.endsWith('create-deployment') && view.status !== 'SUCCEEDED';
      buttons.push(
        h(
          'button',
          {
            class: 'primary',
            id: 'resume',
            disabled: running,
            onclick: () => act(`/api/deployments/${name}/resume`),
          },
          failedCreate ? 'Resume create (create again)' : 'Create again',
        ),
      );
      buttons.push(
        h(
          'button',
          {
            class: 'danger',
            id: 'delete',
            disabled: running,
            onclick: () =>
              act(`/api/deployments/${name}/delete`, `Delete everything deployment ${name} owns?`),
          },
          'Delete',
        ),
      );
    }
    if (info.canStop && running) {
      buttons.push(
        h(
          'button',
          { id: 'stop', onclick: () => act(`/api/executions/${view.execution}/stop`) },
          'Stop execution',
        ),
      );
    }
    actions.replaceChildren(...buttons);
  };

  const renderHeader = () => {
    header.replaceChildren(
      h(
        'h1',
        {},
        `${name} `,
        view ? h('span', { class: `status-${view.status}`, id: 'execution-status', text: view.status }) : '',
      ),
      h(
        'p',
        { class: 'muted' },
        view
          ? `${view.machine} · execution ${view.execution} · ${view.mode} mode · ${view.steps} steps · ${view.historyEvents} history events`
          : 'No execution yet.',
      ),
    );
    banner.replaceChildren();
    if (view?.failure && view.blamed) {
      banner.append(
        h(
          'div',
          { class: 'failure-banner', id: 'failure-banner' },
          h('strong', { text: `✖ Failed at ${view.blamed}` }),
          h(
            'button',
            { id: 'show-failed', onclick: () => select(view.blamed, true) },
            'Show the failed state',
          ),
          h('div', {
            class: 'muted',
            text: view.failure
              .slice(1, 3)
              .map((line) => line.trim())
              .join(' · '),
          }),
        ),
      );
    }
  };

  const renderExecutions = () => {
    executions.replaceChildren(
      ...detail.executions.map((item) =>
        h(
          'tr',
          { class: item.execution === execution ? 'current' : '', 'data-execution': item.execution },
          h('td', {}, h('a', { href: `#/d/${name}/${item.execution}`, text: item.execution })),
          h('td', { text: item.operation }),
          h('td', { class: `status-${item.status}`, text: item.status }),
          h('td', { text: when(item.startDate) }),
          h('td', { text: when(item.stopDate) }),
        ),
      ),
    );
  };

  const renderResources = () => {
    const cost = detail.cost;
    if (!cost) {
      resources.replaceChildren(h('p', { class: 'muted', text: detail.row.note ?? 'Resources not listed.' }));
      return;
    }
    resources.replaceChildren(
      h(
        'p',
        {},
        `${cost.items.length} resources, ${cost.items.filter((i) => i.billed).length} billed, about ${usd(cost.hourlyUsd)} per hour${cost.complete ? '' : ' (some items have no price)'}`,
      ),
      detail.row.note ? h('p', { class: 'muted', text: detail.row.note }) : '',
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Type', 'Id', 'Name', 'State', 'Billed', 'Per hour'].map((t) => h('th', { text: t })),
          ),
        ),
        h(
          'tbody',
          {},
          cost.items.map((item) =>
            h(
              'tr',
              {},
              h('td', { text: item.type }),
              h('td', {}, h('code', { text: item.id })),
              h('td', { text: item.name }),
              h('td', { text: item.state }),
              h('td', { text: item.billed ? 'yes' : 'no' }),
              h('td', { class: 'num', text: usd(item.hourlyUsd) }),
            ),
          ),
        ),
      ),
    );
  };

  const refreshDetail = async () => {
    try {
      detail = await api(`/api/deployments/${name}`);
      renderExecutions();
      renderResources();
    } catch (error) {
      say(error.problems ?? [error.message]);
    }
  };

  async function select(state, scroll = false) {
    selected = state;
    for (const g of drawn?.nodes.values() ?? [])
      g.classList.toggle('selected', g.getAttribute('data-state') === state);
    const node = drawn?.nodes.get(state);
    if (scroll && node) node.scrollIntoView({ block: 'center', inline: 'center' });
    try {
      const st = await api(`/api/executions/${view.execution}/states/${encodeURIComponent(state)}`);
      if (selected !== state) return;
      const rows = [
        ['Type', st.type],
        ['Status', st.status],
        ['Visits', st.visits],
        ['Retries', st.retries],
      ];
      panel.replaceChildren(
        h('h2', { id: 'state-name', text: st.name }),
        h(
          'dl',
          {},
          rows.flatMap(([k, v]) => [
            h('dt', { text: k }),
            h('dd', { class: `field-${k.toLowerCase()}`, text: v }),
          ]),
        ),
        st.failure
          ? h(
              'section',
              { id: 'state-failure' },
              h('h3', {
                text:
                  st.status === 'caught'
                    ? 'Caught error'
                    : st.status === 'retried'
                      ? 'Retried error'
                      : 'Error and cause',
              }),
              h('pre', { text: st.failure.join('\n') }),
            )
          : '',
        st.input !== null
          ? h(
              'section',
              {},
              h('h3', { text: 'Input' }),
              h('pre', { text: JSON.stringify(st.input, null, 2) }),
            )
          : '',
        st.output !== null
          ? h(
              'section',
              {},
              h('h3', { text: 'Output' }),
              h('pre', { text: JSON.stringify(st.output, null, 2) }),
            )
          : '',
        st.visitList.length
          ? h(
              'section',
              {},
              h('h3', { text: 'Visits' }),
              h(
                'table',
                {},
                h(
                  'tbody',
                  {},
                  st.visitList.map((v) =>
                    h(
                      'tr',
                      {},
                      h('td', { text: when(v.start) }),
                      h('td', { text: v.took }),
                      h('td', { text: v.index === undefined ? v.outcome : `[${v.index}] ${v.outcome}` }),
                      h('td', {
                        text: v.retries
                          ? `${v.retries} retries${v.error ? `: ${v.error}` : ''}`
                          : (v.error ?? ''),
                      }),
                    ),
                  ),
                ),
              ),
              st.omittedVisits
                ? h('p', { class: 'muted', text: `${st.omittedVisits} visits in between not shown` })
                : '',
            )
          : h('p', { class: 'muted', text: 'Not started in this execution.' }),
      );
    } catch (error) {
      panel.replaceChildren(problemList(error.problems ?? [error.message]));
    }
  }

  const apply = (next) => {
    const ended = view && view.status === 'RUNNING' && next.status !== 'RUNNING';
    view = next;
    renderHeader();
    renderActions();
    if (drawn) paint(drawn, view);
    if (ended) {
      timeline.src = `/api/executions/${execution}/timeline?t=${Date.now()}`;
      void refreshDetail();
    }
    if (selected && ended) void select(selected);
  };

  renderExecutions();
  renderResources();
  if (!execution) {
    renderHeader();
    renderActions();
    graphBox.replaceChildren(h('p', { class: 'muted', text: 'No execution yet.' }));
    return;
  }
  const started = performance.now();
  try {
    view = await api(`/api/executions/${execution}`);
    if (!graphs.has(view.machine)) graphs.set(view.machine, await api(`/api/graph/${view.machine}`));
  } catch (error) {
    say(error.problems ?? [error.message]);
    return;
  }
  drawn = drawGraph(graphs.get(view.machine), (state) => select(state));
  paint(drawn, view);
  graphBox.replaceChildren(drawn.svg);
  renderHeader();
  renderActions();
  // Measured by the browser tests: from the route to a painted graph.
  requestAnimationFrame(() => {
    drawn.svg.setAttribute('data-execution', execution);
    drawn.svg.setAttribute('data-render-ms', String(Math.round(performance.now() - started)));
  });
  timeline.src = `/api/executions/${execution}/timeline`;
  const changedElsewhere = debounce(refreshDetail, 1000);
  stream(`?execution=${encodeURIComponent(execution)}`, {
    execution: (next) => next.execution === execution && apply(next),
    deployments: (event) => event.deployment === name && changedElsewhere(),
  });
}

// ---- Router ----

async function route() {
  for (const stop of cleanup) stop();
  cleanup = [];
  const [, page, name, execution] = location.hash.split('/');
  if (page === 'd' && name)
    await deploymentPage(decodeURIComponent(name), execution ? decodeURIComponent(execution) : undefined);
  else await deploymentsPage();
}

async function boot() {
  try {
    info = await api('/api/info');
    document.getElementById('mode').textContent =
      `${info.mode} mode · ${info.where}${info.canChange ? '' : ' · read-only'}`;
  } catch (error) {
    app.replaceChildren(problemList(error.problems ?? [error.message]));
    return;
  }
  window.addEventListener('hashchange', route);
  await route();
}

boot();
