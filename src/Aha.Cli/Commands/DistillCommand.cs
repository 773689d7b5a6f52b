using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Distillation;
using Aha.Eval;
using Aha.Remote;
using Aha.Tasks;
using Aha.Training;

namespace Aha.Cli.Commands;

static class DistillCommand
{
    static readonly DistillOptions Defaults = new();
    static readonly LanguageModelTrainerOptions SftDefaults = new()
    {
        Steps = 200, BatchSize = 32, SequenceLength = 128, LearningRate = 1e-3, WarmupSteps = 10, EvalEvery = 0, SaveEvery = 0, LogEvery = 25,
    };

    public static Command Create()
    {
        var teacher = new Option<string?>("--teacher") { Description = "The teacher in this process: a checkpoint or run folder (Aha or Hugging Face)." };
        var teacherUrl = new Option<string?>("--teacher-url") { Description = "The teacher behind an OpenAI-compatible API instead, e.g. http://127.0.0.1:8000/v1 (vLLM, llama.cpp, Ollama, aha serve)." };
        var teacherModel = new Option<string?>("--teacher-model") { Description = "With --teacher-url: the model name to ask for (GET <url>/models lists them)." };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "With --teacher-url: the environment variable holding the API key (none is sent without it)." };
        var deadline = new Option<double>("--deadline") { Description = "With --teacher-url: seconds one request may take.", DefaultValueFactory = _ => 120 };
        var retries = new Option<int>("--retries") { Description = "With --teacher-url: further attempts after refused connections, timeouts, 408, 429 and 5xx.", DefaultValueFactory = _ => 3 };
        var concurrency = new Option<int>("--concurrency") { Description = "With --teacher-url: requests in flight at once.", DefaultValueFactory = _ => 4 };
        var system = new Option<string>("--teacher-system") { Description = "With --teacher-url: r1 (the R1 system message before the problem) or none (DeepSeek's advice for R1-Distill models).", DefaultValueFactory = _ => "r1" };
        var student = new Option<string?>("--student") { Description = "The model to fine-tune on the verified traces: a checkpoint or run folder." };
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        var prompts = new Option<int>("--prompts") { Description = "Distinct training problems the teacher is asked about.", DefaultValueFactory = _ => Defaults.Prompts };
        var samples = new Option<int>("--samples") { Description = "K: traces requested per problem.", DefaultValueFactory = _ => Defaults.Samples };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest trace in tokens; also the student's evaluation length.", DefaultValueFactory = _ => Defaults.MaxCompletionTokens };
        var temperature = new Option<double>("--temperature") { Description = "Teacher sampling temperature.", DefaultValueFactory = _ => Defaults.Temperature };
        var topP = new Option<double>("--top-p") { Description = "Teacher nucleus mass (in-process teacher).", DefaultValueFactory = _ => Defaults.TopP };
        var template = new Option<string>("--template") { Description = "The student's prompt template: short, r1zero or chat.", DefaultValueFactory = _ => "short" };
        var traceSeed = new Option<long>("--trace-seed") { Description = "Seed of the problems and traces (trace k of problem p: seed + p·1009 + k).", DefaultValueFactory = _ => Defaults.Seed };
        var evalProblems = new Option<int>("--eval-problems") { Description = "Held-out problems the student is scored on (greedy) before and after.", DefaultValueFactory = _ => 200 };
        var output = new Option<string>("--out") { Description = "Run folder: distill.json, traces.jsonl (resumable), sft.jsonl, student/ and summary.json.", DefaultValueFactory = _ => "runs/distill" };
        var experiment = new Option<bool>("--experiment") { Description = "Measure instead: the student with GRPO alone, distilled, and distilled then GRPO, at matched student FLOPs (report.md in --out)." };
        var grpoSteps = new Option<int>("--grpo-steps") { Description = "With --experiment: GRPO steps of the GRPO-only arm; what they cost is every arm's budget.", DefaultValueFactory = _ => 40 };
        var run = new RunOptions();
        var taskOptions = new TaskOptions();
        var trainer = new TrainerCliOptions(SftDefaults);
        var command = new Command("distill", "Distil a teacher's reasoning into a student: the teacher writes traces for the task's training problems, the verifier keeps the right ones, the student is fine-tuned on them.")
        {
            teacher, teacherUrl, teacherModel, apiKeyEnv, deadline, retries, concurrency, system, student, task, prompts, samples, maxTokens, temperature, topP,
            template, traceSeed, evalProblems, output, experiment, grpoSteps,
        };
        command.Options.Add(run.Threads);
        command.Options.Add(run.Device);
        command.Options.Add(run.Dtype);
        command.Options.Add(run.Overwrite);
        taskOptions.AddTo(command);
        trainer.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var options = new DistillOptions
            {
                Prompts = r.GetValue(prompts), Samples = r.GetValue(samples), MaxCompletionTokens = r.GetValue(maxTokens), Temperature = r.GetValue(temperature),
                TopP = r.GetValue(topP), PromptStyle = Prompts.ParseStyle(r.GetValue(template)!), Seed = r.GetValue(traceSeed),
                SystemMessage = r.GetValue(system) switch { "r1" => true, "none" => false, var s => throw new ArgumentException($"--teacher-system '{s}': use r1 or none.") },
            }.Validate();
            var sft = trainer.Read(r, SftDefaults, resuming: false);
            var chosen = TaskRegistry.Create(r.GetValue(task)!, taskOptions.Read(r));
            string outDir = r.GetValue(output)!;
            string? teacherDir = r.GetValue(teacher), url = r.GetValue(teacherUrl), studentDir = r.GetValue(student);
            if ((teacherDir is null) == (url is null))
                throw new ArgumentException("give the teacher once: --teacher DIR (a checkpoint in this process) or --teacher-url URL (an OpenAI-compatible server).");
            if (url is null && (r.GetValue(teacherModel) is not null || r.GetValue(apiKeyEnv) is not null))
                throw new ArgumentException("--teacher-model and --api-key-env belong to --teacher-url.");
            var device = run.Initialize(r);
            var dtype = run.ComputeDtype(r);

            if (r.GetValue(experiment))
            {
                if (teacherDir is null || studentDir is null) throw new ArgumentException("--experiment needs --teacher DIR (the GRPO-trained teacher) and --student DIR (the pretrained student).");
                var settings = new DistillExperimentOptions
                {
                    GrpoSteps = r.GetValue(grpoSteps), Distill = options, Sft = sft, EvalProblems = r.GetValue(evalProblems),
                    Grpo = new GrpoOptions { SaveEvery = 0, MaxCompletionTokens = options.MaxCompletionTokens, PromptStyle = options.PromptStyle, Seed = sft.Seed },
                };
                var rows = TrainingSession.Run(0, 1, (log, _, cancel) => DistillExperiment.Run(outDir, teacherDir, studentDir, chosen, settings, log, cancel));
                Console.Error.WriteLine($"report: {Path.Combine(outDir, "report.md")}");
                Console.WriteLine(new JsonObject { ["command"] = "distill --experiment", ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
                    ["accuracy"] = new JsonObject(rows.Select(x => KeyValuePair.Create(x.Name, (JsonNode?)Math.Round(x.Greedy.Accuracy, 4)))) }.ToJsonString());
                return 0;
            }

            // 1. Traces: asked only for what traces.jsonl does not hold yet.
            ITeacher source;
            IDisposable? owned;
            if (url is not null)
            {
                var endpoint = new ChatEndpoint(new ChatEndpointOptions
                {
                    BaseUrl = Uri.TryCreate(url, UriKind.Absolute, out var u) ? u : throw new ArgumentException($"--teacher-url {url}: not an absolute URL; write e.g. http://127.0.0.1:8000/v1."),
                    Model = r.GetValue(teacherModel) ?? throw new ArgumentException("--teacher-url needs --teacher-model NAME (GET <url>/models lists the server's)."),
                    ApiKeyVariable = r.GetValue(apiKeyEnv), Deadline = TimeSpan.FromSeconds(r.GetValue(deadline)), Retries = r.GetValue(retries),
                    MaxConcurrency = r.GetValue(concurrency), Option = "--teacher-url",
                });
                (source, owned) = (new EndpointTeacher(endpoint, options), endpoint);
            }
            else
            {
                var (model, checkpoint) = Cli.LoadModel(teacherDir!, device, dtype);
                (source, owned) = (new ModelTeacher(model, checkpoint.Tokenizer, chosen, options, Path.GetFullPath(checkpoint.Directory)), model);
            }
            IReadOnlyList<TeacherTrace> traces;
            DistillTally tally;
            try
            {
                using (owned)
                    (traces, tally) = TrainingSession.Run(0, 1, (log, _, cancel) => Distiller.CollectAsync(source, chosen, options, outDir, log, cancel).GetAwaiter().GetResult());
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"interrupted: the traces that arrived are in {Path.Combine(outDir, Distiller.TracesFile)}; rerun the same command to request only the rest.");
                return 130;
            }
            var kept = traces.Where(t => t.Correct).ToList();
            Distiller.WriteSft(Path.Combine(outDir, Distiller.SftFile), chosen, kept, options.PromptStyle);
            Console.Error.WriteLine($"traces {tally.Traces} ({tally.Requested} requested now), kept {kept.Count}; teacher accuracy {tally.TeacherAccuracy:P1}; SFT rows in {Path.Combine(outDir, Distiller.SftFile)}");
            var summary = new JsonObject
            {
                ["command"] = "distill", ["teacher"] = source.Name, ["task"] = chosen.Name, ["problems"] = tally.Problems, ["traces"] = tally.Traces,
                ["requested"] = tally.Requested, ["kept"] = kept.Count, ["teacher_accuracy"] = Math.Round(tally.TeacherAccuracy, 4),
            };
            if (studentDir is null)
            {
                Console.Error.WriteLine("no --student: traces collected, nothing fine-tuned.");
                Console.WriteLine(summary.ToJsonString());
                return 0;
            }

            // 2. The student, scored on held-out problems before and after SFT on the kept traces.
            string studentRun = Path.Combine(outDir, "student");
            TrainingSession.PrepareRunFolder(studentRun, resume: false, overwrite: r.GetValue(run.Overwrite));
            var (studentModel, studentCheckpoint) = Cli.LoadModel(studentDir, device, dtype);
            sft = sft with { SequenceLength = Math.Min(sft.SequenceLength, studentModel.Config.MaxPositionEmbeddings - 1) }; // rows are truncated to it
            var problems = ModelEvaluator.Problems(chosen, r.GetValue(evalProblems));
            var eval = new EvalOptions { PromptStyle = options.PromptStyle, MaxNewTokens = options.MaxCompletionTokens, BatchSize = 64 };
            var before = ModelEvaluator.Evaluate(studentModel, studentCheckpoint.Tokenizer, chosen, problems, eval).Summary;
            Console.Error.WriteLine($"student {studentCheckpoint.Directory}: held-out greedy accuracy {before.Accuracy:P1} before");
            var batches = StudentTraining.Batches(studentCheckpoint.Tokenizer, chosen, kept, options.PromptStyle, sft);
            long parameters = studentModel.parameters().Sum(p => p.numel());
            double flops = sft.Steps * StudentCompute.SftStep(studentModel.Config, parameters, sft.BatchSize * sft.GradAccum, batches.MeanRowLength);
            studentModel.train();
            LanguageModelTrainer Build(Action<string> log, Action<StepReport>? onStep) => new(studentModel, studentCheckpoint.Tokenizer, sft, batches)
            {
                RunDirectory = studentRun, Log = log, OnStep = onStep,
                StateTemplate = new Checkpoints.TrainingState { Step = 0, Seed = sft.Seed, Trainer = "sft" }.WithOptions(sft)
                    .With("data", Path.GetFullPath(Path.Combine(outDir, Distiller.SftFile))).With("base_model", Path.GetFullPath(studentCheckpoint.Directory)),
            };
            var result = TrainingSession.Run(Build, 0, sft.Steps, null);
            var after = ModelEvaluator.Evaluate(studentModel, studentCheckpoint.Tokenizer, chosen, problems, eval).Summary;
            Console.Error.WriteLine($"student after SFT on {kept.Count} traces: held-out greedy accuracy {after.Accuracy:P1} (before {before.Accuracy:P1})");
            summary["student_accuracy_before"] = Math.Round(before.Accuracy, 4);
            summary["student_accuracy_after"] = Math.Round(after.Accuracy, 4);
            summary["eval_problems"] = problems.Count;
            summary["student_sft_flops"] = flops;
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "distill", result, parameters, clock, summary));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }
}
