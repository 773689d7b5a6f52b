using System.CommandLine;
using System.Diagnostics;
using CultureInfo = System.Globalization.CultureInfo;
using NumberStyles = System.Globalization.NumberStyles;
using System.Runtime.InteropServices;
using Aha.Compare;
using Aha.Eval;
using Aha.Tasks;

namespace Aha.Cli.Commands;

/// <summary>`aha compare`: every route from the same base under the same FLOPs budget, on the same held-out problems; a report folder.</summary>
static class CompareCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The base checkpoint every route starts from (the demo's: runs/demo/pretrain after aha demo).", DefaultValueFactory = _ => "runs/demo/pretrain" };
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        var output = new Option<string>("--out") { Description = "Report folder; a rerun on the same folder keeps every finished route × seed.", DefaultValueFactory = _ => "runs/compare" };
        var quick = new Option<bool>("--quick") { Description = "A short run: a quarter of the budget, an eighth of the labels, one seed, 50 held-out problems, smaller GRPO and PPO steps." };
        var budget = new Option<double?>("--budget") { Description = $"Training FLOPs per route, e.g. 3.2e12 (default {CompareOptions.Default.Budget:0.0e+00}; --quick {CompareOptions.Quick.Budget:0.0e+00})." };
        var routes = new Option<string?>("--routes") { Description = $"Routes, comma-separated from {string.Join(",", CompareRoutes.Names)} (default all)." };
        var labelNoise = new Option<double?>("--label-noise") { Description = $"Share of the simulated human's labels reversed (default {CompareOptions.Default.LabelNoise})." };
        var lengthBias = new Option<double?>("--length-bias") { Description = $"Chance the simulated human prefers the longer of two equally good answers (default {CompareOptions.Default.LengthBias})." };
        var labels = new Option<int?>("--labels") { Description = $"Labels the preference routes buy (default {CompareOptions.Default.Labels}; --quick {CompareOptions.Quick.Labels})." };
        var seeds = new Option<string?>("--seeds") { Description = "Seeds, comma-separated (default 1,2,3; --quick 1). One seed is not a result: the report gives mean ± sd." };
        var maxTokens = new Option<int?>("--max-tokens") { Description = $"Longest completion in rollouts, labelling samples and evaluation (default {CompareOptions.Default.MaxCompletionTokens})." };
        var evalProblems = new Option<int?>("--eval-problems") { Description = "Held-out problems scored greedily (default 200; --quick 50); the sampled and curve sets are at most this many." };
        var judge = new Option<string?>("--judge") { Description = "The RLAIF route's feedback model: a checkpoint folder (e.g. one pretrained with --corpus cai; dev/runs/cai.sh); default the base itself." };
        var constitution = new Option<string?>("--constitution") { Description = "The RLAIF route's constitution: a built-in name (arithmetic, general) or a Markdown/JSON file (default arithmetic)." };
        var threads = RunOptions.NewThreads();
        var command = new Command("compare", "Every route (R1-Zero, RLHF, DPO, RLAIF/CAI, SFT on worked solutions, the base) from the same base checkpoint under the same training-FLOPs budget; a report folder with the table and plots.")
        {
            model, task, output, quick, budget, routes, labelNoise, lengthBias, labels, seeds, maxTokens, evalProblems, judge, constitution, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            RunOptions.InitializeTorch(r, threads);
            var o = r.GetValue(quick) ? CompareOptions.Quick : CompareOptions.Default;
            if (r.GetValue(budget) is { } b) o = o with { Budget = b };
            if (r.GetValue(routes) is { } names) o = o with { Routes = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
            if (r.GetValue(labelNoise) is { } noise) o = o with { LabelNoise = noise };
            if (r.GetValue(lengthBias) is { } bias) o = o with { LengthBias = bias };
            if (r.GetValue(labels) is { } n) o = o with { Labels = n };
            if (r.GetValue(judge) is { } j) o = o with { Judge = j };
            if (r.GetValue(constitution) is { } c) o = o with { Constitution = c };
            if (r.GetValue(seeds) is { } list) o = o with { Seeds = ParseSeeds(list) };
            if (r.GetValue(maxTokens) is { } m) o = o with { MaxCompletionTokens = m };
            if (r.GetValue(evalProblems) is { } e)
                o = o with { EvalProblems = e, SampledProblems = Math.Min(o.SampledProblems, e), CurveProblems = Math.Min(o.CurveProblems, e) };
            o.Validate();
            string basePath = r.GetValue(model)!;
            var chosen = TaskRegistry.Create(r.GetValue(task)!);
            string dir = r.GetValue(output)!;
            Directory.CreateDirectory(dir);
            Console.Error.WriteLine($"compare: base {basePath}, task {chosen.Name}, routes {string.Join(",", o.Routes)}, seeds {string.Join(",", o.Seeds)}, budget {o.Budget:0.00e+00} FLOPs; writing to {dir}");

            using var cancel = new CancellationTokenSource();
            void OnSignal(PosixSignalContext context)
            {
                if (cancel.IsCancellationRequested) return; // a second signal kills
                context.Cancel = true;
                Console.Error.WriteLine($"{context.Signal}: stopping after the current step; finished routes × seeds are kept, rerun the same command to continue.");
                cancel.Cancel();
            }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            IReadOnlyList<RouteResult> results;
            try
            {
                results = CompareRun.Run(dir, basePath, chosen, o, Console.Error.WriteLine, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
            string line = "aha compare" + string.Concat(Environment.GetCommandLineArgs().SkipWhile(a => a != "compare").Skip(1).Select(a => " " + a));
            var summary = CompareReport.Write(dir, line, basePath, chosen.Name, o, results, clock.Elapsed.TotalSeconds);
            Console.Error.WriteLine($"report: {Path.Combine(dir, "report.md")}");
            Console.WriteLine(summary.ToJsonString(ReportFiles.JsonLine));
            return 0;
        }));
        return command;
    }

    static IReadOnlyList<long> ParseSeeds(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
                : throw new ArgumentException($"--seeds: '{s}' is not an integer; write e.g. 1,2,3.")).ToList();
}
