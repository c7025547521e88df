/** A very small element builder: enough to keep the views declarative without a framework. */

type Child = Node | string | number | null | undefined | false;
type Props<K extends keyof HTMLElementTagNameMap> = Partial<
  Omit<HTMLElementTagNameMap[K], 'style' | 'dataset'>
> & {
  attrs?: Record<string, string>;
  dataset?: Record<string, string>;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const { attrs, dataset, ...rest } = props;
  Object.assign(el, rest);
  for (const [name, value] of Object.entries(attrs ?? {})) el.setAttribute(name, value);
  for (const [name, value] of Object.entries(dataset ?? {})) el.dataset[name] = value;
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A message region: polite for progress, assertive (role=alert) for errors. */
export function showMessage(region: HTMLElement, text: string, kind: 'error' | 'info' = 'error'): void {
  region.textContent = text;
  region.hidden = text.length === 0;
  region.classList.toggle('message-error', kind === 'error');
  region.classList.toggle('message-info', kind === 'info');
}
