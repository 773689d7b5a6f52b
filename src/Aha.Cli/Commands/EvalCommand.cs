using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Runtime;
using Aha.Tasks;
using Spectre.Console;

namespace Aha.Cli.Commands;

static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A run folder (its 'latest' checkpoint) or a checkpoint folder.", Required = true };
        var task = new Option<string?>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)} (default with --data: jsonl)." };
        var n = new Option<int>("--n") { Description = "How many distinct problems (the first of the split).", DefaultValueFactory = _ => 100 };
        var samples = new Option<int>("--samples") { Description = "Samples per problem: 1 = greedy pass@1; K > 1 = pass@k and maj@k at temperature 0.6, top-p 0.95.", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double?>("--temperature") { Description = "Override the temperature (default: 0 for one sample, 0.6 for more)." };
        var topP = new Option<double?>("--top-p") { Description = "Override the nucleus mass (default: 1 for one sample, 0.95 for more)." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest completion in tokens; longer ones count as truncated.", DefaultValueFactory = _ => 256 };
        var template = new Option<string>("--template") { Description = "Prompt template: r1zero, short or chat.", DefaultValueFactory = _ => "short" };
        var split = new Option<string?>("--split") { Description = "all, train or test (default: test, the held-out problems; all for a --data file, usually a test set already)." };
        var output = new Option<string?>("--out") { Description = "Output folder; each model's files go in a subfolder named after its checkpoint (default: eval-<task>)." };
        var seed = new Option<long>("--seed") { Description = "Sampling seed: sample s of problem p uses seed + p·1009 + s.", DefaultValueFactory = _ => 0 };
        var problemSeed = new Option<long>("--problem-seed") { Description = "Seed of generated tasks' problems (same seed, same problems).", DefaultValueFactory = _ => 0 };
        var ks = new Option<string?>("--k") { Description = "k values for pass@k and maj@k, e.g. 1,4 (default: 1, 2, 4, … up to --samples)." };
        var batch = new Option<int>("--batch-size") { Description = "Completions decoded together (results do not depend on it).", DefaultValueFactory = _ => 16 };
        var compare = new Option<string?>("--compare") { Description = "A second run or checkpoint folder: evaluate it on the same problems and seeds, print both side by side." };
        var dtype = RunOptions.NewDtype();
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter folder (PEFT format) applied on top of --model (not of --compare, so --compare BASE shows what the adapter changes)." };
        var options = new TaskOptions();
        var command = new Command("eval", "Generate completions for a task's held-out problems with a checkpoint and score them: accuracy, pass@k, maj@k, length.")
        {
            model, task, n, samples, temperature, topP, maxTokens, template, split, output, seed, problemSeed, ks, batch, compare, dtype, adapter,
        };
        options.AddTo(command);
        command.SetAction(result => Cli.Run(() =>
        {
            var settings = options.Read(result);
            var taskName = result.GetValue(task) ?? (settings.File is not null ? "jsonl"
                : throw new ArgumentException($"give --task NAME ({string.Join(", ", TaskRegistry.Names)}) or --data FILE."));
            var chosen = TaskRegistry.Create(taskName, settings);
            var splitName = result.GetValue(split) ?? (settings.File is null ? "test" : "all");
            var which = Enum.TryParse<TaskSplit>(splitName, ignoreCase: true, out var s) ? s : throw new ArgumentException($"--split '{splitName}' is not all, train or test.");
            var count = result.GetValue(n);
            if (count <= 0) throw new ArgumentException($"--n must be positive, got {count}.");
            var items = ModelEvaluator.Problems(chosen, count, which, result.GetValue(problemSeed));
            if (items.Count == 0)
                throw new ArgumentException($"task '{chosen.Name}' has no problems in split '{splitName}'" + (settings.File is null && chosen is Tasks.Datasets.DatasetTask ? "; give the dataset with --data FILE." : "; try --split all."));
            if (items.Count < count) Console.Error.WriteLine($"note: only {items.Count} distinct problems in split '{splitName}' (asked for {count}).");

            var evalOptions = new EvalOptions
            {
                PromptStyle = Prompts.ParseStyle(result.GetValue(template)!),
                Samples = result.GetValue(samples),
                Temperature = result.GetValue(temperature),
                TopP = result.GetValue(topP),
                MaxNewTokens = result.GetValue(maxTokens),
                BatchSize = result.GetValue(batch),
                Seed = result.GetValue(seed),
                Ks = Cli.ParseKs(result.GetValue(ks)),
            }.Validate();

            TorchRuntime.Initialize();
            var paths = new List<string> { result.GetValue(model)! };
            if (result.GetValue(compare) is { } other) paths.Add(other);
            var checkpoints = paths.Select(ModelLoader.Open).ToList();
            // Opened before any model loads: a bad adapter folder fails at once. Its run is labelled base+adapter, apart from a --compare of the same base.
            var adapterCheckpoint = result.GetValue(adapter) is { } adapterDir ? AdapterCheckpoint.Open(adapterDir) : null;
            var labels = Labels(checkpoints, adapterCheckpoint);
            var outRoot = result.GetValue(output) ?? $"eval-{chosen.Name}";

            var runs = new List<(EvalReport Report, JsonObject Line)>();
            for (int i = 0; i < checkpoints.Count; i++)
            {
                // Opened again here: a run still training may have pruned the checkpoint 'latest' named when the command started.
                var (loaded, checkpoint) = ModelLoader.OpenAndLoad(paths[i], dtype: RunOptions.ComputeDtype(result, dtype));
                using var _ = loaded;
                if (i == 0) adapterCheckpoint?.AttachTo(loaded);
                WarnIfPastContext(chosen, items, evalOptions, checkpoint);
                var report = WithProgress(labels[i], progress => ModelEvaluator.Evaluate(loaded, checkpoint.Tokenizer, chosen, items, evalOptions, progress));
                var directory = Path.Combine(outRoot, labels[i]);
                ReportFiles.Write(directory, report);
                Console.Error.WriteLine($"wrote {directory}/samples.jsonl, problems.jsonl, summary.json");
                runs.Add((report, new JsonObject
                {
                    ["model"] = paths[i],
                    ["checkpoint"] = checkpoint.Directory,
                    ["adapter"] = i == 0 ? adapterCheckpoint?.Directory : null,
                    ["out"] = directory,
                    ["summary"] = JsonSerializer.SerializeToNode(report.Summary, ReportFiles.JsonLine),
                }));
            }

            if (runs.Count == 2)
            {
                Console.Write(ReportTables.Compare(runs[0].Report, runs[1].Report, labels[0], labels[1]));
                Console.WriteLine(new JsonObject { ["a"] = runs[0].Line, ["b"] = runs[1].Line }.ToJsonString(ReportFiles.JsonLine));
            }
            else
            {
                Console.Write(ReportTables.Summary(runs[0].Report.Summary));
                Console.WriteLine(runs[0].Line.ToJsonString(ReportFiles.JsonLine));
            }
        }));
        return command;
    }

    /// <summary>Runs <paramref name="work"/> under a progress bar on stderr, so stdout stays the table and JSON line a script reads.</summary>
    static T WithProgress<T>(string label, Func<Action<int, int>, T> work)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var bar = context.AddTask(Markup.Escape(label));
                result = work((done, total) =>
                {
                    bar.MaxValue = total;
                    bar.Value = done;
                });
                bar.StopTask();
            });
        return result;
    }

    /// <summary>
    /// Checkpoint folder names, the first with <c>+ADAPTER</c> when an adapter is applied to it, with the run folder in
    /// front when two share a name (step-000100 of two runs).
    /// </summary>
    static List<string> Labels(IReadOnlyList<Checkpoint> checkpoints, AdapterCheckpoint? adapter)
    {
        string Suffix(int i) => i == 0 && adapter is not null ? "+" + Path.GetFileName(adapter.Directory) : "";
        var names = checkpoints.Select((c, i) => Path.GetFileName(c.Directory) + Suffix(i)).ToList();
        if (names.Distinct().Count() == names.Count) return names;
        var qualified = checkpoints.Select((c, i) => Path.Combine(Path.GetFileName(Path.GetDirectoryName(c.Directory)!), Path.GetFileName(c.Directory)) + Suffix(i)).ToList();
        return qualified.Distinct().Count() == qualified.Count ? qualified : qualified.Select((q, i) => $"{(char)('a' + i)}-{q}").ToList();
    }

    /// <summary>Positions past the trained context still decode (rotary tables grow), but the numbers mean little; say so.</summary>
    static void WarnIfPastContext(ITask task, IReadOnlyList<TaskItem> items, EvalOptions options, Checkpoint checkpoint)
    {
        var longest = items.Max(item => PromptSpec.For(checkpoint.Tokenizer, task, item, options.PromptStyle).Ids.Length);
        var context = checkpoint.Config.MaxPositionEmbeddings;
        if (longest + options.MaxNewTokens > context)
            Console.Error.WriteLine($"warning: the longest prompt ({longest} tokens) + --max-tokens {options.MaxNewTokens} exceeds {Path.GetFileName(checkpoint.Directory)}'s context of {context}; use --template short or lower --max-tokens.");
    }
}
