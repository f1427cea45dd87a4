import type { FastifyRequest } from 'fastify';

/** The peer address without the IPv4-mapped prefix, as Go reports it. */
export const clientIp = (request: FastifyRequest): string => {
  const ip = request.ip ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
};
