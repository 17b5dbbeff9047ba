//! Repeated runs and their summary line: each pipeline and its reference run `RUNS` times,
//! interleaved, and the line gives the median with min and max, and CPU seconds.
//!
//! `bench <name> runs=<n> records=<n> seconds=<median> rate=<median> rate_min=<r> rate_max=<r> mb_s=<median>
//! peak_rss_mb=<max> cpu_s=<median> cpu_us_per_rec=<median> ref=<name> ref_rate=<median> ref_rate_min=<r>
//! ref_rate_max=<r> ref_cpu_s=<median> ratio=<rate/ref_rate>`

/// How many times each pipeline and each reference runs.
pub const RUNS: usize = 3;

/// One measured run: wall seconds, user+system CPU seconds of the measured process (sluice, or
/// the bench itself for an in-process reference), and peak RSS (sluice only).
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    pub seconds: f64,
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

/// User+system CPU seconds a process has used so far (`pid` or "self"), all threads, from
/// `/proc/<pid>/stat` (clock ticks of 1/100 s, Linux's USER_HZ).
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // fields 14 and 15 of stat(5), counted from the state field (3)
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// User+system CPU seconds of this process's children that have been waited for (`cutime` and
/// `cstime`): the difference around one child's run is that child's CPU.
pub fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(13) + ticks(14)) / 100.0
}

/// Runs `command` to completion (its output discarded): wall and CPU seconds of the child.
pub fn child(command: &mut std::process::Command) -> anyhow::Result<Run> {
    let cpu = children_cpu_seconds();
    let started = std::time::Instant::now();
    let status = command.stdout(std::process::Stdio::null()).status()?;
    if !status.success() {
        anyhow::bail!("{command:?} exited with {status}");
    }
    Ok(Run { seconds: started.elapsed().as_secs_f64(), cpu_s: children_cpu_seconds() - cpu, peak_rss_mb: 0.0 })
}

/// Times `work` in this process: wall and CPU seconds.
pub fn in_process(work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Run> {
    let cpu = cpu_seconds("self");
    let started = std::time::Instant::now();
    work()?;
    Ok(Run { seconds: started.elapsed().as_secs_f64(), cpu_s: cpu_seconds("self") - cpu, peak_rss_mb: 0.0 })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)))
}

/// A pipeline's runs against a reference's runs.
pub struct Summary<'a> {
    pub name: &'a str,
    pub records: usize,
    pub bytes: usize,
    pub runs: &'a [Run],
    pub reference: &'a str,
    pub ref_runs: &'a [Run],
}

impl Summary<'_> {
    pub fn line(&self) -> String {
        let rates: Vec<f64> = self.runs.iter().map(|r| self.records as f64 / r.seconds).collect();
        let ref_rates: Vec<f64> = self.ref_runs.iter().map(|r| self.records as f64 / r.seconds).collect();
        let (rate, ref_rate) = (median(rates.clone()), median(ref_rates.clone()));
        let ((lo, hi), (ref_lo, ref_hi)) = (min_max(&rates), min_max(&ref_rates));
        let seconds = median(self.runs.iter().map(|r| r.seconds).collect());
        let cpu_s = median(self.runs.iter().map(|r| r.cpu_s).collect());
        let peak = self.runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max);
        format!(
            "bench {} runs={} records={} seconds={seconds:.3} rate={rate:.0} rate_min={lo:.0} rate_max={hi:.0} \
             mb_s={:.1} peak_rss_mb={peak:.1} cpu_s={cpu_s:.2} cpu_us_per_rec={:.2} ref={} ref_rate={ref_rate:.0} \
             ref_rate_min={ref_lo:.0} ref_rate_max={ref_hi:.0} ref_cpu_s={:.2} ratio={:.2}",
            self.name,
            self.runs.len(),
            self.records,
            self.bytes as f64 / seconds / 1e6,
            cpu_s * 1e6 / self.records as f64,
            self.reference,
            median(self.ref_runs.iter().map(|r| r.cpu_s).collect()),
            if ref_rate > 0.0 { rate / ref_rate } else { 0.0 },
        )
    }

    pub fn print(&self) {
        println!("{}", self.line());
    }
}

/// sluice's CPU per record against the sum of the references' (the physical work: reading the
/// source with its own tool plus producing the same bytes, or consuming plus writing them).
pub fn cpu_budget_line(name: &str, records: usize, runs: &[Run], references: &[(&str, &[Run])]) -> String {
    let per_rec = |rs: &[Run]| median(rs.iter().map(|r| r.cpu_s).collect()) * 1e6 / records as f64;
    let ours = per_rec(runs);
    let theirs: f64 = references.iter().map(|(_, rs)| per_rec(rs)).sum();
    let names: Vec<&str> = references.iter().map(|(n, _)| *n).collect();
    format!(
        "bench {name}-cpu runs={} cpu_us_per_rec={ours:.2} ref={} ref_cpu_us_per_rec={theirs:.2} ratio={:.2}",
        runs.len(),
        names.join("+"),
        if theirs > 0.0 { ours / theirs } else { 0.0 }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_gives_medians_extremes_and_cpu_per_record() {
        let run = |seconds, cpu_s| Run { seconds, cpu_s, peak_rss_mb: seconds * 10.0 };
        let runs = [run(2.0, 1.0), run(1.0, 0.5), run(4.0, 2.0)];
        let refs = [run(1.0, 0.2), run(1.0, 0.3), run(0.5, 0.1)];
        let s = Summary { name: "x", records: 1000, bytes: 2_000_000, runs: &runs, reference: "r", ref_runs: &refs };
        assert_eq!(
            s.line(),
            "bench x runs=3 records=1000 seconds=2.000 rate=500 rate_min=250 rate_max=1000 mb_s=1.0 peak_rss_mb=40.0 \
             cpu_s=1.00 cpu_us_per_rec=1000.00 ref=r ref_rate=1000 ref_rate_min=1000 ref_rate_max=2000 ref_cpu_s=0.20 \
             ratio=0.50"
        );
    }

    #[test]
    fn the_cpu_budget_sums_the_references() {
        let run = |cpu_s| Run { seconds: 1.0, cpu_s, peak_rss_mb: 0.0 };
        let line = cpu_budget_line("p", 1_000_000, &[run(3.0)], &[("a", &[run(1.0)]), ("b", &[run(0.5)])]);
        assert_eq!(line, "bench p-cpu runs=1 cpu_us_per_rec=3.00 ref=a+b ref_cpu_us_per_rec=1.50 ratio=2.00");
    }

    #[test]
    fn a_childs_cpu_is_counted_once_it_is_waited_for() {
        let run =
            child(std::process::Command::new("sh").args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]))
                .unwrap();
        assert!(run.cpu_s > 0.0, "{run:?}");
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let spent = in_process(|| {
            let mut x = 0u64;
            let started = std::time::Instant::now();
            while started.elapsed().as_millis() < 60 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
            assert!(x > 0);
            Ok(())
        })
        .unwrap();
        assert!(spent.cpu_s > 0.0 && spent.seconds >= 0.06, "{spent:?}");
    }
}
