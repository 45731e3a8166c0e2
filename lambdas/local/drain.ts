/** Closing an HTTP server gently: the local gateway's shutdown and dynalite's both use it. */
import type { Server } from 'node:http';

/** Stops accepting connections, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
export function drain(server: Server, graceMs: number, pollMs = 50): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    // Keep-alive connections turn idle as their requests finish: close them as they do.
    const idle = setInterval(() => server.closeIdleConnections(), pollMs);
    server.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}
