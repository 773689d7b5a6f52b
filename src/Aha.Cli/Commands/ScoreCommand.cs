using System.CommandLine;
using Aha.Eval;
using Aha.Tasks;
using Aha.Tasks.Rewards;

namespace Aha.Cli.Commands;

static class ScoreCommand
{
    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = $"Task whose verifier checks the answers: {string.Join(", ", TaskRegistry.Names)}.", Required = true };
        var file = new Option<string>("--file") { Description = "Completions (.jsonl or .parquet): id, answer (gold), completion; optional prompt, tokens, truncated.", Required = true };
        var ks = new Option<string?>("--k") { Description = "k values for pass@k and maj@k, e.g. 1,4,8 (default: 1, 2, 4, … up to the samples per problem)." };
        var output = new Option<string?>("--out") { Description = "Output folder (default: next to the input, <name>.scored)." };
        var compare = new Option<string?>("--compare") { Description = "A second completions file on the same problems: print both side by side." };
        var format = new Option<bool>("--format-reward") { Description = "Reward = accuracy + R1-Zero format (default: accuracy only)." };
        var options = new TaskOptions();
        var command = new Command("score", "Score completions produced anywhere (another engine, an API) without a model: extracted answer, correct, reward per row; accuracy, pass@k, maj@k.")
        {
            task, file, ks, output, compare, format,
        };
        options.AddTo(command);
        command.SetAction(result => Cli.Run(() =>
        {
            var settings = options.Read(result);
            var chosen = TaskRegistry.Create(result.GetValue(task)!, settings with { File = null });
            var kList = Cli.ParseKs(result.GetValue(ks));
            var rewards = result.GetValue(format) ? RewardSet.R1Zero(chosen) : null;

            EvalReport ScoreFile(string path, string? outDir)
            {
                var rows = CompletionsFile.Read(path, chosen, settings.SkipBadRows);
                if (rows.Skipped > 0) Cli.ReportSkipped(rows.Skipped, rows.Problems);
                var report = Scorer.Score(chosen, rows.Items, kList, rewards, skippedRows: rows.Skipped);
                var directory = outDir ?? DefaultOutput(path);
                ReportFiles.Write(directory, report);
                Console.Error.WriteLine($"wrote {directory}/samples.jsonl, problems.jsonl, summary.json");
                return report;
            }

            var main = ScoreFile(result.GetValue(file)!, result.GetValue(output));
            if (result.GetValue(compare) is { } other)
            {
                var second = ScoreFile(other, null);
                Console.Write(ReportTables.Compare(main, second, Path.GetFileNameWithoutExtension(result.GetValue(file)!), Path.GetFileNameWithoutExtension(other)));
            }
            else Console.Write(ReportTables.Summary(main.Summary));
        }));
        return command;
    }

    static string DefaultOutput(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path) + ".scored");
}
