using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using ChatMessage = Aha.Tokenizer.ChatMessage;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class SftCommand
{
    static readonly LanguageModelTrainerOptions Defaults = new()
    {
        Steps = 300, BatchSize = 16, SequenceLength = 256, LearningRate = 3e-4, WarmupSteps = 20, EvalEvery = 50, SaveEvery = 100,
    };
    const int BuiltinRows = 10_000, BuiltinValidationRows = 128;

    public static Command Create()
    {
        var modelPath = new Option<string?>("--model") { Description = "The model to fine-tune: a checkpoint or run folder (not needed with --resume)." };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints, metrics.jsonl, summary.json.", DefaultValueFactory = _ => "runs/sft" };
        var data = new Option<string?>("--data") { Description = "JSONL rows {\"prompt\",\"completion\"} or {\"messages\":[{\"role\",\"content\"}]} (default: the built-in corpus)." };
        var corpus = new Option<string>("--corpus") { Description = "Built-in conversations when no --data: arithmetic.", DefaultValueFactory = _ => "arithmetic" };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of --data rows held out for validation (by content hash).", DefaultValueFactory = _ => 0.02 };
        var run = new RunOptions();
        var lora = new LoraCliOptions();
        var trainer = new TrainerCliOptions(Defaults);
        var command = new Command("sft", "Supervised fine-tuning: next-token loss on the assistant turns of chat-template conversations only.")
        {
            modelPath, output, data, corpus, valFraction,
        };
        run.AddTo(command);
        trainer.AddTo(command);
        lora.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var device = run.Initialize(r);
            string outDir = r.GetValue(output)!;
            var adapterResume = LoraCliOptions.TryResume(outDir, r.GetValue(run.Resume));
            var resume = adapterResume is null ? TrainingSession.PrepareRunFolder(outDir, r.GetValue(run.Resume), r.GetValue(run.Overwrite)) : null;
            var saved = resume?.State ?? adapterResume?.State;
            r = RunSpec.Resolve(r, saved); // untyped options from the saved run; a typed one that differs is refused
            var options = trainer.Read(r, saved?.GetOptions<LanguageModelTrainerOptions>() ?? Defaults, saved is not null);
            var loraConfig = lora.Read(r); // before any loading: a bad --lora-targets fails at once
            string? file = TrainingSession.DataFile(r.GetValue(data), saved);
            string corpusName = saved?.Get<string>("corpus") ?? r.GetValue(corpus)!;
            double fraction = r.GetValue(valFraction);
            if (fraction is < 0 or >= 1) throw new ArgumentException($"--val-fraction {fraction}: must be in [0, 1).");

            // The weights come from the resumed run, else from --model; the shape always travels with them.
            // A LoRA run's checkpoint holds adapters only: its weights come from the base model it names.
            var from = resume ?? ((adapterResume?.State?.Get<string>("base_model") ?? r.GetValue(modelPath)) is { } path ? ModelLoader.Open(path)
                : throw new ArgumentException("--model is required: the checkpoint or run folder to fine-tune (e.g. runs/pretrain)."));
            if (options.SequenceLength > from.Config.MaxPositionEmbeddings)
                throw new ArgumentException($"--seq-len {options.SequenceLength} exceeds the model's max_position_embeddings {from.Config.MaxPositionEmbeddings}.");
            torch.manual_seed(options.Seed);
            var model = new LlamaModel(from.Config, device);
            model.to(run.ComputeDtype(r));
            if (resume is null) from.LoadModel(model); // a resume loads weights and optimizer together in the trainer
            if (adapterResume is not null) RunSpec.CheckBaseUnchanged(saved, from.Directory);
            if (adapterResume is not null && loraConfig is null) throw new ArgumentException($"{adapterResume.Directory} is a LoRA checkpoint; resume it with the run's --lora-* options.");
            if (loraConfig is not null)
            {
                if (resume is not null) throw new ArgumentException($"{resume.Directory} is a full fine-tune checkpoint; resume it without --lora-rank.");
                model.AttachLora(loraConfig); // A drawn after the seed above: the same run draws the same adapters
            }

            var badRows = r.GetValue(run.SkipBadRows) ? new BadRowReport() : null;
            List<IReadOnlyList<ChatMessage>> trainRows, validationRows;
            if (file is null)
            {
                trainRows = BuiltinCorpus.Conversations(corpusName, TaskSplit.Train, options.Seed).Take(BuiltinRows).ToList();
                validationRows = BuiltinCorpus.Conversations(corpusName, TaskSplit.Test, options.Seed).Take(BuiltinValidationRows).ToList();
            }
            else
            {
                var rows = ReadConversations(file, badRows).ToList();
                var held = rows.Select(m => TrainValidationSplit.IsValidation(string.Join("\n", m.Select(x => x.Content)), fraction, options.Seed)).ToList();
                trainRows = rows.Where((_, i) => !held[i]).ToList();
                validationRows = rows.Where((_, i) => held[i]).ToList();
                if (trainRows.Count == 0) throw new ArgumentException($"{file}: no training rows (all {rows.Count} fell in validation); lower --val-fraction or add rows.");
            }
            var source = new ChatBatchSource(from.Tokenizer, trainRows, options.BatchSize, options.SequenceLength, options.Seed);
            var validation = new List<TrainingBatch>();
            if (options.EvalEvery > 0 && validationRows.Count > 0)
            {
                var held = new ChatBatchSource(from.Tokenizer, validationRows, options.BatchSize, options.SequenceLength, options.Seed);
                int batches = Math.Min(trainer.EvalBatches(r), (validationRows.Count + options.BatchSize - 1) / options.BatchSize);
                for (int i = 0; i < batches; i++) validation.Add(held.Next());
            }

            double peak = MatmulPeak.Measure(device: device);
            long parameters = model.parameters().Sum(p => p.numel());
            Console.Error.WriteLine($"sft {parameters:N0} parameters from {from.Directory}; {trainRows.Count:N0} train / {validationRows.Count:N0} validation conversations");
            var template = new TrainingState { Step = 0, Seed = options.Seed, Trainer = "sft" }
                .WithOptions(options).With("data", file is null ? null : Path.GetFullPath(file)).With("corpus", file is null ? corpusName : null)
                .With("base_model", saved?.Get<string>("base_model") ?? from.Directory)
                .With("base_model_sha256", saved is null ? RunSpec.WeightsHash(from.Directory) : saved.Get<string>("base_model_sha256"))
                .With("spec", RunSpec.Capture(r));
            LanguageModelTrainer Build(Action<string> log, Action<StepReport>? onStep) => new(model, from.Tokenizer, options, source)
            {
                Validation = validation, RunDirectory = outDir, StateTemplate = template, PeakFlops = peak, Log = log, OnStep = onStep,
                Inject = NonFiniteInjection.FromEnvironment(),
            };
            var result = adapterResume is null ? TrainingSession.Run(Build, saved?.Step ?? 0, options.Steps, resume)
                : TrainingSession.Run(saved!.Step, options.Steps, (log, progress, cancel) =>
                    Build(log, progress is null ? null : report => progress(report.Step)).Run(adapterResume, cancel));
            if (badRows is { Count: > 0 }) Cli.ReportSkipped(badRows.Count, badRows.FirstMessages);
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "sft", result, parameters, clock));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }

    /// <summary>Conversations from either SFT row form; the first row decides which (a mixed file reports its odd rows by file:line).</summary>
    static IEnumerable<IReadOnlyList<ChatMessage>> ReadConversations(string file, BadRowReport? badRows)
    {
        string? first = File.ReadLines(file).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l));
        bool messages = false;
        try
        {
            using var doc = JsonDocument.Parse(first ?? "null");
            messages = doc.RootElement is { ValueKind: JsonValueKind.Object } row && row.TryGetProperty("messages", out _);
        }
        catch (JsonException) { } // the reader below reports the bad row with its line number
        return messages ? JsonlReader.ReadConversations(file, badRows)
            : JsonlReader.ReadPromptCompletions(file, badRows).Select(pc => (IReadOnlyList<ChatMessage>)[new("user", pc.Prompt), new("assistant", pc.Completion)]);
    }
}
