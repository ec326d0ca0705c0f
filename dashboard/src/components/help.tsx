import { useEffect, useRef } from 'preact/hooks';

const KEYS: [string, string][] = [
  ['/', 'Filter the list'],
  ['j / k', 'Next / previous row'],
  ['Enter', 'Open the selected job or node'],
  ['Escape', 'Close a panel or this help'],
  ['o / J / N', 'Overview, Jobs, Nodes'],
  ['A / Q / U', 'Alerts, Quotas, Audit log'],
  ['?', 'This help'],
];

export function Help({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} class="help" aria-labelledby="help-title" onClose={onClose}>
      <h2 id="help-title">Keyboard shortcuts</h2>
      <dl>
        {KEYS.map(([k, v]) => (
          <div key={k}>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={() => ref.current?.close()}>
        Close
      </button>
    </dialog>
  );
}
