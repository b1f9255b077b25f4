// The toolbar that switches a mode (the service's enforcement mode, adaptive protection): a choice of the modes,
// the reason the audit log records, and the button that applies or asks to review the change. The button stays
// disabled until a mode other than the current one is chosen.

export interface ModeSwitchProps<M extends string> {
  modes: readonly M[];
  current: M;
  /** The mode chosen, null while it is the current one. */
  next: M | null;
  onNext: (mode: M | null) => void;
  reason: string;
  onReason: (reason: string) => void;
  /** What is switched, for the controls' accessible names ("enforcement", "protection"). */
  subject: string;
  button: string;
  onSubmit: () => void;
}

export function ModeSwitch<M extends string>(props: ModeSwitchProps<M>) {
  const { modes, current, next, subject } = props;
  return (
    <div className="toolbar">
      <label className="switch">
        Switch to
        <select
          aria-label={`new ${subject} mode`}
          value={next ?? current}
          onChange={(e) => props.onNext(e.target.value === current ? null : (e.target.value as M))}
        >
          {modes.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
      </label>
      <input
        aria-label={`${subject} change reason`}
        placeholder="Reason (recorded in the audit log)"
        value={props.reason}
        maxLength={500}
        onChange={(e) => props.onReason(e.target.value)}
      />
      <button type="button" disabled={next === null} onClick={props.onSubmit}>
        {props.button}
      </button>
    </div>
  );
}
