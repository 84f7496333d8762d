/** A page of the dashboard: built once when its route is opened, refreshed in place every few seconds. */
export interface Page {
  readonly title: string;
  readonly element: HTMLElement;
  /** Fetches and redraws its data; a rejection is shown in the status line and retried next time. */
  refresh(): Promise<void>;
}
