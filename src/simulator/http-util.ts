// Small HTTP helpers shared by the API and storage origins: HAL error bodies like
// OpenProject's (README §5) and Rails `to_query` link building (README §1).
import type { Json } from './types.js';

export const HAL = 'application/hal+json; charset=utf-8';
export const ERROR_URN = 'urn:openproject-org:api:v3:errors:';

/** What a handler answers; `send` (faults.ts) turns it into bytes, possibly damaged. */
export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Work package elements rendered in full (the per-element latency model charges these). */
  elements?: number;
}

const ERROR_NAMES: Record<number, [string, string]> = {
  400: ['BadRequest', 'The request could not be processed.'],
  401: ['Unauthenticated', 'You did not provide the correct credentials.'],
  403: ['MissingPermission', 'You are not authorized to access this resource.'],
  404: ['NotFound', 'The requested resource could not be found.'],
  405: ['NotAllowed', 'The simulator is read-only: only GET and HEAD are supported.'],
  409: ['UpdateConflict', 'Your changes could not be saved, because the resource was changed meanwhile.'],
  422: ['PropertyConstraintViolation', 'The request was not valid.'],
  429: ['TooManyRequests', 'You have reached the request limit for this resource.'],
  500: ['InternalServerError', 'An internal error has occured.'],
  502: ['BadGateway', 'The upstream server returned an invalid response.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable.'],
  504: ['GatewayTimeout', 'The upstream server did not answer in time.'],
};

export function errorBody(status: number, identifier?: string, message?: string): string {
  const [name, msg] = ERROR_NAMES[status] ?? ['InternalServerError', 'An internal error has occured.'];
  return JSON.stringify({ _type: 'Error', errorIdentifier: `${ERROR_URN}${identifier ?? name}`, message: message ?? msg });
}

export function errorReply(status: number, identifier?: string, message?: string, headers: Record<string, string | number> = {}): Reply {
  return { status, headers: { 'content-type': HAL, ...headers }, body: errorBody(status, identifier, message) };
}

export function jsonReply(value: Json | object, elements?: number): Reply {
  return { status: 200, headers: { 'content-type': HAL }, body: JSON.stringify(value), ...(elements === undefined ? {} : { elements }) };
}

/** Ruby's CGI.escape: everything but `a-zA-Z0-9_.-~` percent-encoded, space as '+'. */
export function cgiEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Rails `Hash#to_query`: keys sorted, keys and values CGI-escaped. */
export function toQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${cgiEscape(k)}=${cgiEscape(params[k]!)}`)
    .join('&');
}
