/**
 * The orchestrator's dashboard: pools and their replicas, the scaling window, ten minutes of
 * traffic and the last events, kept current by the admin address's event stream (`/events`).
 * On every (re)connection it catches up from `/status` and `/history`, so nothing is missed
 * and nothing is shown twice. It only reads.
 */
import { desiredReplicas } from '../../orchestrator/autoscaler';
import type { OrchestratorStatus, PoolStatus, ReplicaView } from '../../orchestrator/admin';
import type { NumberedEvent } from '../../orchestrator/dashboard-feed';
import type { TrafficSample } from '../../orchestrator/traffic-history';
import { niceCeiling, pathData, type ChartBox, type Point } from './charts';
import { EventLog } from './event-log';
import { clockTime, formatDuration, shortId } from './format';

const EVENTS_SHOWN = 100;
const CHART_SPAN_MS = 10 * 60 * 1000;
const CHART_WIDTH = 600;
const CHART_HEIGHT = 120;
const RECONNECT_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

let status: Omit<OrchestratorStatus, 'events'> | undefined;
/** Server clock minus this browser's, from the last status. */
let clockOffsetMs = 0;
let samples: TrafficSample[] = [];
const events = new EventLog(EVENTS_SHOWN);
const poolViews = new Map<string, PoolView>();

const serverNow = () => Date.now() + clockOffsetMs;

function byId(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svg(tag: string, attrs: Record<string, string>): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

// ---- pools ---------------------------------------------------------------------------------

interface PoolView {
  root: HTMLElement;
  heading: HTMLElement;
  window: HTMLElement;
  rows: HTMLTableSectionElement;
  env: HTMLElement;
}

function poolView(pool: PoolStatus): PoolView {
  const existing = poolViews.get(pool.name);
  if (existing) return existing;
  const heading = el('h2');
  const window = el('div', { class: 'window' });
  const rows = el('tbody');
  const env = el('dl', { class: 'env' });
  const head = el(
    'tr',
    {},
    ...['Port', 'Replica', 'State', 'Last probe', 'Restarts', 'Age', 'In rotation'].map((h) =>
      el('th', { scope: 'col' }, h),
    ),
  );
  const root = el(
    'section',
    { class: 'panel pool', 'data-pool': pool.name, 'aria-label': `Pool ${pool.name}` },
    heading,
    window,
    el(
      'table',
      { class: 'replicas' },
      el('caption', {}, `${pool.name} replicas`),
      el('thead', {}, head),
      rows,
    ),
    el('details', {}, el('summary', {}, 'Environment (values redacted)'), env),
  );
  byId('pools').append(root);
  const view = { root, heading, window, rows, env };
  poolViews.set(pool.name, view);
  return view;
}

function cell(label: string, ...content: Array<Node | string>): HTMLTableCellElement {
  return el('td', { 'data-label': label }, ...content);
}

function replicaRow(r: ReplicaView): HTMLTableRowElement {
  const probe = r.lastProbe;
  const stateText =
    r.state === 'backoff' && r.nextAttemptAt
      ? `backoff (${formatDuration(Date.parse(r.nextAttemptAt) - serverNow())} left)`
      : r.state;
  return el(
    'tr',
    { 'data-port': String(r.port), 'data-state': r.state },
    cell('Port', String(r.port)),
    cell('Replica', el('code', { class: 'replica-id', title: r.id ?? '' }, shortId(r.id))),
    cell('State', el('span', { class: `badge state-${r.state}`, title: r.reason }, stateText)),
    cell(
      'Last probe',
      probe
        ? el(
            'span',
            { class: probe.ok ? 'probe-ok' : 'probe-failed', title: clockTime(probe.at) },
            `${probe.result} · ${probe.latencyMs} ms`,
          )
        : '—',
    ),
    cell('Restarts', String(r.restarts)),
    cell('Age', r.startedAt ? formatDuration(serverNow() - Date.parse(r.startedAt)) : 'adopted'),
    cell(
      'In rotation',
      el('span', { class: r.inRotation ? 'in-rotation' : 'out-of-rotation' }, r.inRotation ? 'yes' : 'no'),
    ),
  );
}

function windowFacts(pool: PoolStatus): Array<[string, string]> {
  const w = pool.window;
  if (!w) return [['Scaling', `fixed at ${pool.minReplicas} (autoscaling off)`]];
  const policy = {
    requestsPerReplica: w.requestsPerReplica,
    minReplicas: pool.minReplicas,
    maxReplicas: pool.maxReplicas,
  };
  const wouldBe = desiredReplicas(w.count, policy);
  const left =
    w.endsAt === undefined ? 'opens at the first counted request' : formatDuration(w.endsAt - serverNow());
  return [
    ['Counted this window', String(w.count)],
    ['Time left', left],
    [
      'Would give now',
      `${wouldBe} (floor(${w.count}/${w.requestsPerReplica})+1 within ${pool.minReplicas}..${pool.maxReplicas})`,
    ],
    [
      'Last decision',
      w.lastDecision ? `${clockTime(w.lastDecision.at)}: ${w.lastDecision.reason}` : 'none yet',
    ],
    ['Window', `${w.windowSeconds} s, ${w.requestsPerReplica} requests per replica`],
  ];
}

function renderPool(pool: PoolStatus): void {
  const view = poolView(pool);
  const inRotation = pool.replicas.filter((r) => r.inRotation).length;
  view.heading.replaceChildren(
    pool.name,
    ' ',
    el(
      'small',
      { class: 'pool-summary' },
      `${pool.replicas.length} replica${pool.replicas.length === 1 ? '' : 's'}, ${inRotation} in rotation, desired ${pool.desiredReplicas} · ${pool.image ?? (pool.command ?? []).join(' ')}`,
    ),
  );
  view.window.replaceChildren(
    el(
      'dl',
      { class: 'facts' },
      ...windowFacts(pool).flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]),
    ),
  );
  view.rows.replaceChildren(...pool.replicas.map(replicaRow));
  view.env.replaceChildren(
    ...Object.entries(pool.env).flatMap(([name, value]) => [
      el('dt', {}, name),
      el('dd', {}, el('code', {}, value)),
    ]),
  );
}

function renderStatus(): void {
  if (!status) return;
  byId('summary').textContent =
    `${status.runtime} runtime · up ${formatDuration(serverNow() - Date.parse(status.startedAt))}`;
  for (const pool of status.pools) renderPool(pool);
  for (const [name, view] of poolViews) {
    if (!status.pools.some((p) => p.name === name)) {
      view.root.remove();
      poolViews.delete(name);
    }
  }
}

// ---- charts --------------------------------------------------------------------------------

interface ChartSeries {
  name: string;
  points: Point[];
}

function chart(title: string, unit: string, series: ChartSeries[], stepped: boolean): HTMLElement {
  const box: ChartBox = { width: CHART_WIDTH, height: CHART_HEIGHT, end: serverNow(), spanMs: CHART_SPAN_MS };
  const top = niceCeiling(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v))));
  const drawing = svg('svg', {
    viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
    preserveAspectRatio: 'none',
    class: 'chart',
    role: 'img',
    'aria-label': `${title}, last 10 minutes, axis up to ${top} ${unit}`,
  });
  for (const fraction of [0.5, 1]) {
    const y = String(CHART_HEIGHT * (1 - fraction));
    drawing.append(svg('line', { x1: '0', x2: String(CHART_WIDTH), y1: y, y2: y, class: 'grid' }));
  }
  series.forEach((s, i) => {
    const d = pathData(s.points, box, top, stepped);
    if (d)
      drawing.append(
        svg('path', { d, class: `line series-${i % 6}`, 'vector-effect': 'non-scaling-stroke' }),
      );
  });
  const latest = series.map((s) => `${s.name} ${s.points.at(-1)?.v ?? 0}`).join(', ');
  return el(
    'figure',
    { class: 'chart-figure' },
    el('figcaption', {}, el('strong', {}, title), ' ', el('span', { class: 'now' }, `now: ${latest}`)),
    el('div', { class: 'axis-top' }, `${top} ${unit}`),
    drawing,
    el('div', { class: 'axis-bottom' }, el('span', {}, '−10 min'), el('span', {}, 'now')),
    series.length > 1
      ? el('ul', { class: 'legend' }, ...series.map((s, i) => el('li', { class: `series-${i % 6}` }, s.name)))
      : '',
  );
}

function renderCharts(): void {
  const pools = status?.pools.map((p) => p.name) ?? [];
  byId('charts').replaceChildren(
    chart(
      'Requests per second',
      'req/s',
      [{ name: 'front door', points: samples.map((s) => ({ t: s.t, v: s.requests })) }],
      false,
    ),
    chart(
      'Replicas per pool',
      'replicas',
      pools.map((name) => ({ name, points: samples.map((s) => ({ t: s.t, v: s.replicas[name] ?? 0 })) })),
      true,
    ),
    chart(
      '5xx answered per second',
      '5xx/s',
      [{ name: 'front door', points: samples.map((s) => ({ t: s.t, v: s.errors })) }],
      false,
    ),
  );
}

// ---- events --------------------------------------------------------------------------------

function renderEvents(): void {
  byId('events').replaceChildren(
    ...events
      .newestFirst()
      .map((e: NumberedEvent) =>
        el(
          'li',
          { 'data-kind': e.kind, 'data-seq': String(e.seq) },
          el('time', { datetime: e.time }, clockTime(e.time)),
          el('span', { class: `badge kind-${e.kind}` }, e.kind),
          el(
            'span',
            { class: 'where' },
            `${e.pool}${e.port !== null ? ` :${e.port}` : ''}${e.id ? ` ${shortId(e.id)}` : ''}`,
          ),
          el('span', { class: 'reason' }, e.reason),
        ),
      ),
  );
}

// ---- live updates ---------------------------------------------------------------------------

/** A status from `/status`, or from the stream (which leaves out the events it pushes itself). */
function applyStatus(next: Omit<OrchestratorStatus, 'events'> & { events?: NumberedEvent[] }): void {
  if (status && next.now < status.now && next.startedAt === status.startedAt) return;
  if (status && next.startedAt !== status.startedAt) {
    // The orchestrator restarted: its event numbers and history began again.
    events.clear();
    samples = [];
  }
  clockOffsetMs = Date.parse(next.now) - Date.now();
  status = next;
  if (next.events && events.add(next.events)) renderEvents();
  renderStatus();
}

function addSample(sample: TrafficSample): void {
  if (samples.length > 0 && sample.t <= samples[samples.length - 1]!.t) return;
  samples.push(sample);
  const oldest = sample.t - CHART_SPAN_MS;
  while (samples.length > 0 && samples[0]!.t < oldest) samples.shift();
  renderCharts();
}

function setConnection(text: string, live: boolean): void {
  const node = byId('connection');
  node.textContent = text;
  node.className = `connection ${live ? 'live' : 'down'}`;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function catchUp(): Promise<void> {
  try {
    const [current, history] = await Promise.all([
      getJson<OrchestratorStatus>('/status'),
      getJson<{ samples: TrafficSample[] }>('/history'),
    ]);
    applyStatus(current);
    const known = new Set(samples.map((s) => s.t));
    samples = [...samples, ...history.samples.filter((s) => !known.has(s.t))].sort((a, b) => a.t - b.t);
    renderCharts();
  } catch (error) {
    setConnection(`Catching up failed: ${(error as Error).message}`, false);
  }
}

function connect(): void {
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    setConnection('Live', true);
    void catchUp();
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused outright (e.g. too many streams): the browser gives up, so try again later.
      setConnection('Disconnected; retrying…', false);
      setTimeout(connect, RECONNECT_MS);
    } else {
      setConnection('Reconnecting…', false);
    }
  });
  source.addEventListener('change', (message) => {
    if (events.add([JSON.parse((message as MessageEvent<string>).data) as NumberedEvent])) renderEvents();
  });
  source.addEventListener('status', (message) => {
    applyStatus(JSON.parse((message as MessageEvent<string>).data) as Omit<OrchestratorStatus, 'events'>);
  });
  source.addEventListener('sample', (message) => {
    addSample(JSON.parse((message as MessageEvent<string>).data) as TrafficSample);
  });
}

connect();
