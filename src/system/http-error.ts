// One sentence for a failed HTTP request (undici's and Node's error codes), for the LiteFS client,
// the peers and the Consul record alike: the error's code and message, never the URL it was for.

/** A short reason for a transport failure; undici and net errors carry a `code`. */
export function describeError(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: unknown }).code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `no response headers within ${timeoutMs} ms (${code})`;
    case 'UND_ERR_BODY_TIMEOUT':
      return `response body stalled for ${timeoutMs} ms (${code})`;
    case 'ECONNREFUSED':
      return `connection refused (${code})`;
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
      return `client closed (${code})`;
  }
  // Node's happy-eyeballs connect reports an AggregateError with an empty message.
  let message = err.message;
  if (message === '' && err instanceof AggregateError && err.errors[0] instanceof Error) {
    message = err.errors[0].message;
  }
  if (message === '') message = err.name;
  return typeof code === 'string' ? `${message} (${code})` : message;
}
