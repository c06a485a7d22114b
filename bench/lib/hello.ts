/**
 * The one hello-world handler every configuration serves: a small HTML page,
 * so privacy-log records a pageview (its most expensive kind: it also updates
 * the unique-visitor sketch). The same bytes for Koa and Express.
 */
export const HELLO_HTML = '<!doctype html><html lang="en"><title>Hello</title><p>Hello, world!</p></html>';

/** Koa handler (structural types: no Koa import needed here). */
export function helloKoa(ctx: { type: string; body: unknown }): void {
  ctx.type = 'html';
  ctx.body = HELLO_HTML;
}

/** Express handler. */
export function helloExpress(_req: unknown, res: { type(t: string): unknown; send(b: string): unknown }): void {
  res.type('html');
  res.send(HELLO_HTML);
}
