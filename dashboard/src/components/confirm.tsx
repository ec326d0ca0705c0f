// Confirms a command (cancel, drain...) and takes the reason Slurm records with it.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface PendingAction {
  title: string;
  /** Drain needs a reason (Slurm refuses a drain without one). */
  needsReason: boolean;
  /** Commands that take no reason (an alert's ack): the dialog is just the confirmation. */
  noReason?: boolean;
  /** The confirm button's words (default "Confirm"). */
  confirmLabel?: string;
  run: (reason: string) => Promise<string>;
}

export function Confirm({ action, onDone }: { action: PendingAction; onDone: (result: { ok: boolean; text: string } | undefined) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      onDone({ ok: true, text: await action.run(reason.trim()) });
    } catch (err) {
      onDone({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onCancel={() => onDone(undefined)}>
      <form onSubmit={submit}>
        <h2 id="confirm-title">{action.title}</h2>
        {!action.noReason && (
          <>
            <label for="confirm-reason">Reason{action.needsReason ? '' : ' (optional)'}</label>
            <input id="confirm-reason" value={reason} required={action.needsReason} maxLength={1024} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          </>
        )}
        <div class="buttons">
          <button type="button" class="ghost" onClick={() => onDone(undefined)}>
            Back
          </button>
          <button type="submit" class="danger" disabled={busy}>
            {busy ? 'Sending…' : (action.confirmLabel ?? 'Confirm')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
