// Virtual Window — the Socket.IO connection of every page and acknowledged emits.

import { io } from "./vendor/socket.io.esm.min.js";

/** Connect to a namespace ("/caller", "/agent", "/admin") with its `auth`. */
export function connectSocket(namespace, auth = {}) {
  return io(namespace, { auth, transports: ["websocket", "polling"] });
}

/** Close a connection for good (sign-out): no handler runs after this. */
export function closeSocket(socket) {
  socket.removeAllListeners();
  socket.disconnect();
}

/** Promise wrapper around a socket.io emit with acknowledgement and a timeout; never rejects. */
export function emitAck(socket, event, payload, timeoutMs = 10000) {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) {
        resolve({ ok: false, error: { code: "timeout", message: `No answer from the server to ${event}` } });
      } else if (!ack || typeof ack !== "object") {
        resolve({ ok: false, error: { code: "bad_ack", message: `Unexpected answer to ${event}` } });
      } else {
        resolve(ack);
      }
    });
  });
}
