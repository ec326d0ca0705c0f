// A page's error (the hub did not answer, or refused with the gate's reason) and the notice of the
// last action (ok or refused), the same markup on every page. With onDismiss the notice has a ×.
// Always one element in the same place of the page's children, so siblings keep their state.

export interface Notice {
  ok: boolean;
  text: string;
}

export function PageMessages({ error, notice, onDismiss }: { error?: string | undefined; notice?: Notice | undefined; onDismiss?: () => void }) {
  return (
    <div class="page-messages">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class={notice.ok ? 'notice' : 'error'} role={notice.ok ? 'status' : 'alert'} data-testid="notice">
          {notice.text}
          {onDismiss && (
            <button type="button" class="ghost" aria-label="Dismiss" onClick={onDismiss}>
              ×
            </button>
          )}
        </p>
      )}
    </div>
  );
}
