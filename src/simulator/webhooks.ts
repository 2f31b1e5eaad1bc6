// Outgoing webhooks as OpenProject sends them (modules/webhooks/ in opf/openproject):
//
// - body `{"action":"work_package:updated"|"work_package:created","work_package":{…}}` with
//   the full single work package representation, links embedded
//   (work_package_webhook_job.rb, RepresentedWebhookJob#request_body);
//   `{"action":"attachment:created","attachment":{…}}` with the container embedded
//   (attachment_webhook_job.rb);
// - headers `Content-Type: application/json`, `Accept: application/json`, and
//   `X-OP-Signature: sha1=<hex HMAC-SHA1 of the body>` only when a secret is set
//   (represented_webhook_job.rb: request_headers, request_signature);
// - sent from a background job after the edit (the work package event waits for the
//   journal aggregation time, Journals::CompletedJob); no event when a work package is
//   deleted; an answer other than 2xx, or a refused connection, is logged and dropped:
//   only timeouts are retried by the job queue.
//
// Deliveries are recorded (action, id, status) so tests can wait for them and check them.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { JsonObject } from './types.js';

export interface WebhookTarget {
  url: string;
  /** Signs each body when set, like a webhook with a secret. */
  secret?: string;
  /** Delay before each delivery (OpenProject: the journal aggregation time). @default 0 */
  delayMs?: number;
}

export interface WebhookDelivery {
  action: string;
  /** The work package, or for attachment events the attachment. */
  id: number;
  /** HTTP status, or null when the connection failed. */
  status: number | null;
}

export interface SimulatorWebhooks {
  /** Where to send events from now on (null: stop sending). */
  configure(target: WebhookTarget | null): void;
  /** Resolves when every delivery started so far has been answered or has failed. */
  flush(): Promise<void>;
  deliveries(): WebhookDelivery[];
}

export class WebhookEmitter implements SimulatorWebhooks {
  private target: WebhookTarget | null;
  private inFlight = new Set<Promise<void>>();
  private log: WebhookDelivery[] = [];

  constructor(
    private readonly render: {
      /** The work package as GET /api/v3/work_packages/:id renders it, or null. */
      workPackage(id: number): JsonObject | null;
      /** The attachment as GET /api/v3/attachments/:id renders it, or null. */
      attachment(id: number): JsonObject | null;
    },
    target?: WebhookTarget,
  ) {
    this.target = target ?? null;
  }

  configure(target: WebhookTarget | null): void {
    this.target = target;
  }

  async flush(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  workPackage(id: number, action: 'created' | 'updated'): void {
    if (!this.target) return;
    // Rendered now, as the job renders the state it finds when it runs.
    const rep = this.render.workPackage(id);
    if (rep) this.send(`work_package:${action}`, id, { action: `work_package:${action}`, work_package: rep });
  }

  attachment(id: number, containerId: number): void {
    if (!this.target) return;
    const rep = this.render.attachment(id);
    if (!rep) return;
    const container = this.render.workPackage(containerId);
    const body = { action: 'attachment:created', attachment: container ? { ...rep, _embedded: { container } } : rep };
    this.send('attachment:created', id, body);
  }

  private send(action: string, id: number, payload: unknown): void {
    const target = this.target!;
    const body = Buffer.from(JSON.stringify(payload));
    const headers: Record<string, string | number> = { 'content-type': 'application/json', accept: 'application/json', 'content-length': body.length };
    if (target.secret) headers['x-op-signature'] = `sha1=${createHmac('sha1', target.secret).update(body).digest('hex')}`;
    const delivery: WebhookDelivery = { action, id, status: null };
    this.log.push(delivery);
    const p = new Promise<void>((resolve) => {
      const go = (): void => {
        const req = http.request(target.url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
          delivery.status = res.statusCode ?? null;
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve());
        req.end(body);
      };
      if (target.delayMs) setTimeout(go, target.delayMs);
      else setImmediate(go);
    }).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}
