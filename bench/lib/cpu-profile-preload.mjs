// Preloaded with `--import` into a process under test (NODE_OPTIONS may not carry --cpu-prof): records a V8 CPU
// profile from start to exit and writes it to $CPU_PROFILE_FILE (open it in Chrome DevTools or read it with
// bench/lib/top-frames.mjs). Same-thread inspector calls complete synchronously, so the exit hook can write.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.CPU_PROFILE_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
