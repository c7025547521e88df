/**
 * The one error type routes throw. The API's error bodies are `{}` unless a route says
 * otherwise, so the status is what carries meaning; `reason` is for the log only and never
 * reaches the client.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly body: unknown = {},
  ) {
    super(reason);
    this.name = 'HttpError';
  }
}

export const badRequest = (reason: string): HttpError => new HttpError(400, reason);
export const notFound = (reason = 'no such route'): HttpError => new HttpError(404, reason);
export const methodNotAllowed = (reason: string): HttpError => new HttpError(405, reason);
export const payloadTooLarge = (reason: string): HttpError => new HttpError(413, reason);
