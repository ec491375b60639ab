/** The HTTP side both references share: JSON answers, a bounded body, and the server with its three routes. */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { newUser, type UserMessage } from './validate.js';

const maxBody = 16_384;

export function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** The body as text, or undefined when it is larger than ackstate's default limit. */
export function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > maxBody ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** POST /users, GET /readyz and /healthz, 404 for the rest. */
export function createReferenceServer(postUser: Route): Server {
  const server = createServer((request, response) => {
    const fail = (error: unknown) => {
      process.stderr.write(`reference: request failed: ${String(error)}\n`);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"error":"internal error"}');
    };
    if (request.method === 'POST' && request.url === '/users') return void postUser(request, response).catch(fail);
    if (request.method === 'GET' && (request.url === '/readyz' || request.url === '/healthz')) {
      return send(response, 200, { status: 'ready' });
    }
    send(response, 404, { error: `no route for ${request.method} ${request.url}` });
  });
  server.keepAliveTimeout = 72_000;
  return server;
}

export const log = (message: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ level: 'info', message, ...fields, timestamp: new Date().toISOString() })}\n`,
  );

/** A new user read from a POST /users body, or undefined once the request was answered 413 or 400. */
export async function readNewUser(
  request: IncomingMessage,
  response: ServerResponse,
): Promise<UserMessage | undefined> {
  const text = await readBody(request);
  if (text === undefined) return void send(response, 413, { error: 'body too large' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return void send(response, 400, { error: 'body is not valid JSON' });
  }
  const input = newUser(parsed);
  if (!input) return void send(response, 400, { error: 'body must be {name, email}' });
  return { id: randomUUID(), name: input.name, email: input.email, created_at: new Date().toISOString() };
}
