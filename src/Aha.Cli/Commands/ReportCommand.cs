using System.CommandLine;
using Aha.Reports;

namespace Aha.Cli.Commands;

static class ReportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run folder of `aha demo`: holds metrics.jsonl.", Required = true };
        var report = new Option<string?>("--report") { Description = "Report folder to rebuild (default: <run>/report); it must hold report_input.json." };
        var command = new Command("report", "Rebuild a demo's report folder (report.md, plots, summary.json) from its saved evaluations and the run's metrics.jsonl, without training again.")
        {
            run, report,
        };
        command.SetAction(result => Cli.Run(() =>
        {
            var runDir = result.GetValue(run)!;
            var reportDir = result.GetValue(report) ?? Path.Combine(runDir, "report");
            var markdown = DemoReport.Regenerate(reportDir, Path.Combine(runDir, "metrics.jsonl"));
            Console.Error.WriteLine($"wrote {markdown} and the plots and summary.json beside it");
        }));
        return command;
    }
}
