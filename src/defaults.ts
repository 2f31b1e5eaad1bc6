// Every default curate applies, in one place: the config schema, the client and the
// engine read them from here, so a default cannot differ between layers.
export const DEFAULTS = {
  /** Page size asked for; the server clamps it (OpenProject's default maximum is 1000). */
  pageSize: 1000,
  /** Parallel HTTP requests. */
  concurrency: 8,
  timeoutSeconds: 30,
  /** Retries after the first attempt for transient failures. */
  retries: 5,
  maxAttachmentMB: 50,
  maxAttachmentBytes: 50 * 1024 * 1024,
  /** Largest share of synced files of gone work packages one run may delete. */
  deleteThreshold: 0.2,
  /** Seconds an incremental walk starts before the watermark, against clock skew. */
  overlapSeconds: 300,
  /**
   * Hours between two walks of every work package of a source (the audit): bounds how long
   * a change with no incremental signal (a custom option renamed) can stay unseen.
   */
  auditHours: 24,
} as const;
