// Small DOM helpers for the demo page.

/** Returns the element with `id`; throws when the page lacks it, which means index.html and the code disagree. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the demo page has no element #${id}; index.html and src/app are out of sync`);
  return element as T;
}

/** Shows `message` in `element`, or hides the element when `message` is undefined or empty. */
export function showMessage(element: HTMLElement, message: string | undefined): void {
  element.textContent = message ?? "";
  element.hidden = !message;
}

/** Describes a caught value for the page: "Name: message", with the error code when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === "string" ? ` (${code})` : ""}: ${error.message}`;
  }
  return String(error);
}

/** Creates an element with text and attributes. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Calls `onFile` with a file dropped on `zone`, and marks the zone while a drag hovers over it. */
export function acceptDrops(zone: HTMLElement, onFile: (file: File) => void): void {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("drop-active");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("drop-active"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("drop-active");
    const file = event.dataTransfer?.files[0];
    if (file) onFile(file);
  });
}
