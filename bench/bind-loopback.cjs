// Preload for peer servers that listen on every interface: forces 127.0.0.1 (benchmarks stay on loopback).
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function patchedListen(...args) {
  if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const port = args[0];
    const rest = args.slice(1).filter((a) => typeof a === 'function' || typeof a === 'number');
    const callbacks = rest.filter((a) => typeof a === 'function');
    const backlog = rest.find((a) => typeof a === 'number');
    return listen.call(this, { port: Number(port), host: '127.0.0.1', ...(backlog ? { backlog } : {}) }, ...callbacks);
  }
  if (args[0] && typeof args[0] === 'object') args[0] = { ...args[0], host: '127.0.0.1' };
  return listen.apply(this, args);
};
