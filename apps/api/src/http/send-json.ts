import type { FastifyReply } from 'fastify';

/** Writes a JSON body as-is, `null` included (Nest would send an empty body for a null result). */
export function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  void reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}
