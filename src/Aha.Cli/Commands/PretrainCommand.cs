using System.CommandLine;
using System.Diagnostics;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class PretrainCommand
{
    static readonly LanguageModelTrainerOptions Defaults = new()
    {
        Steps = 1000, BatchSize = 16, SequenceLength = 256, LearningRate = 1e-3, WarmupSteps = 50, EvalEvery = 100, SaveEvery = 200,
    };

    public static Command Create()
    {
        var modelPath = new Option<string?>("--model") { Description = "Continue pretraining this model (a downloaded Hugging Face folder, a checkpoint or run folder): its config, weights and tokenizer; saved in the same layout." };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints, metrics.jsonl, summary.json.", DefaultValueFactory = _ => "runs/pretrain" };
        var data = new Option<string?>("--data") { Description = "Pretraining text: JSONL with a \"text\" field per row (default: the built-in corpus)." };
        var corpus = new Option<string>("--corpus") { Description = $"Built-in corpus when no --data: {string.Join(", ", BuiltinCorpus.Names)}.", DefaultValueFactory = _ => "arithmetic" };
        var size = new Option<string>("--model-size") { Description = $"Model shape: {string.Join(", ", ModelPresets.Names)}.", DefaultValueFactory = _ => "small" };
        var arch = new Option<string>("--arch") { Description = $"Architecture of the --model-size shape: {string.Join(", ", Architectures.Names)} (v3 = MLA + MoE + MTP, about the same active parameters).", DefaultValueFactory = _ => "llama" };
        var valFraction = new Option<double>("--val-fraction") { Description = "Share of --data documents held out for validation (by content hash).", DefaultValueFactory = _ => 0.01 };
        var run = new RunOptions();
        var trainer = new TrainerCliOptions(Defaults);
        var command = new Command("pretrain", "Pretrain a model on next-token loss over packed documents: from scratch (--model-size, --arch) or continued from --model.")
        {
            modelPath, output, data, corpus, size, arch, valFraction,
        };
        run.AddTo(command);
        trainer.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var device = run.Initialize(r);
            string outDir = r.GetValue(output)!;
            var resume = TrainingSession.PrepareRunFolder(outDir, r.GetValue(run.Resume), r.GetValue(run.Overwrite));
            var saved = resume?.State;
            r = RunSpec.Resolve(r, saved); // untyped options from the saved run; a typed one that differs is refused
            var options = trainer.Read(r, saved?.GetOptions<LanguageModelTrainerOptions>() ?? Defaults, resume is not null);
            string? file = TrainingSession.DataFile(r.GetValue(data), saved);
            string corpusName = saved?.Get<string>("corpus") ?? r.GetValue(corpus)!;
            double fraction = r.GetValue(valFraction);
            if (fraction is < 0 or >= 1) throw new ArgumentException($"--val-fraction {fraction}: must be in [0, 1).");

            // Continued pretraining starts from --model's weights, config and tokenizer (the resumed run's checkpoint holds them after).
            string? basePath = r.GetValue(modelPath);
            if (resume is null && basePath is not null && (r.GetResult(size) is { Implicit: false } || r.GetResult(arch) is { Implicit: false }))
                throw new ArgumentException($"--model {basePath} brings its own shape (config.json); drop --model-size and --arch, which describe a model built from scratch.");
            var from = resume is null && basePath is not null ? ModelLoader.Open(basePath) : null;
            var config = resume?.Config ?? from?.Config ?? Architectures.Apply(ModelPresets.Get(r.GetValue(size)!, options.SequenceLength), r.GetValue(arch)!);
            if (resume is not null && basePath is null) CheckShapeUnchanged(r, size, arch, options.SequenceLength, config);
            if (options.SequenceLength > config.MaxPositionEmbeddings)
                throw new ArgumentException($"--seq-len {options.SequenceLength} exceeds the model's max_position_embeddings {config.MaxPositionEmbeddings}.");
            torch.manual_seed(options.Seed);
            var model = new LlamaModel(config, device, initialize: from is null);
            model.to(run.ComputeDtype(r));
            from?.LoadModel(model); // in its storage dtype, converted to the compute dtype tensor by tensor; a resume loads in the trainer
            var tokenizer = resume?.Tokenizer ?? from?.Tokenizer ?? ModelPresets.Tokenizer(config); // a fresh model is a byte preset

            var badRows = r.GetValue(run.SkipBadRows) ? new BadRowReport() : null;
            IEnumerable<string> trainDocs, validationDocs;
            if (file is null)
                (trainDocs, validationDocs) = (BuiltinCorpus.Documents(corpusName, TaskSplit.Train, options.Seed), BuiltinCorpus.Documents(corpusName, TaskSplit.Test, options.Seed));
            else
            {
                var documents = JsonlReader.ReadTexts(file, badRows);
                (trainDocs, validationDocs) = (TrainValidationSplit.Train(documents, fraction, options.Seed), TrainValidationSplit.Validation(documents, fraction, options.Seed));
            }
            var source = new PackedBatchSource(tokenizer, trainDocs, options.BatchSize, options.SequenceLength, options.Seed);
            var validation = new List<TrainingBatch>();
            if (options.EvalEvery > 0 && (file is null || validationDocs.Any()))
            {
                var held = new PackedBatchSource(tokenizer, validationDocs, options.BatchSize, options.SequenceLength, options.Seed);
                for (int i = 0; i < trainer.EvalBatches(r); i++) validation.Add(held.Next());
            }
            else if (options.EvalEvery > 0) Console.Error.WriteLine($"note: no document of {file} fell in the validation share {fraction}; validation is off.");

            double peak = MatmulPeak.Measure(device: device);
            long parameters = model.parameters().Sum(p => p.numel());
            var modelSize = ModelSize.Of(config);
            string active = config.IsDeepSeekV3 ? $", {modelSize.ActiveParameters:N0} active per token" : "";
            Console.Error.WriteLine($"model {parameters:N0} parameters{active}{(from is null ? "" : $" from {from.Directory}")} ({config.NumHiddenLayers} layers, d {config.HiddenSize}); matmul peak {peak / 1e9:F1} GFLOP/s; {options.TokensPerStep:N0} tokens/step");
            var template = new TrainingState { Step = 0, Seed = options.Seed, Trainer = "pretrain" }
                .WithOptions(options).With("data", file is null ? null : Path.GetFullPath(file)).With("corpus", file is null ? corpusName : null).With("spec", RunSpec.Capture(r));
            if (from is not null || saved?.Get<string>("base_model") is not null)
                template = template.With("base_model", saved?.Get<string>("base_model") ?? from!.Directory)
                    .With("base_model_sha256", saved?.Get<string>("base_model_sha256") ?? RunSpec.WeightsHash(from!.Directory));
            var result = TrainingSession.Run((log, onStep) => new LanguageModelTrainer(model, tokenizer, options, source)
            {
                Validation = validation, RunDirectory = outDir, StateTemplate = template, PeakFlops = peak, Log = log, OnStep = onStep,
                Inject = NonFiniteInjection.FromEnvironment(),
            }, saved?.Step ?? 0, options.Steps, resume);
            if (badRows is { Count: > 0 }) Cli.ReportSkipped(badRows.Count, badRows.FirstMessages);
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "pretrain", result, parameters, clock));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    
    /// <summary>A resumed run keeps its checkpoint's model: a typed --model-size or --arch that describes another one is an error, not silently ignored.</summary>
    static void CheckShapeUnchanged(ParseResult r, Option<string> size, Option<string> arch, int sequenceLength, ModelConfig saved)
    {
        bool sizeGiven = r.GetResult(size) is { Implicit: false }, archGiven = r.GetResult(arch) is { Implicit: false };
        if (!sizeGiven && !archGiven) return;
        var wanted = Architectures.Apply(ModelPresets.Get(r.GetValue(size)!, sequenceLength), r.GetValue(arch)!);
        bool sameSize = wanted.HiddenSize == saved.HiddenSize && wanted.NumHiddenLayers == saved.NumHiddenLayers;
        bool sameArch = wanted.UsesMla == saved.UsesMla && wanted.UsesMoe == saved.UsesMoe && wanted.UsesMtp == saved.UsesMtp;
        if ((sizeGiven && !sameSize) || (archGiven && !sameArch))
            throw new ArgumentException(
                $"{(sizeGiven ? $"--model-size {r.GetValue(size)} " : "")}{(archGiven ? $"--arch {r.GetValue(arch)} " : "")}describes another model than the " +
                $"resumed run's (d {saved.HiddenSize}, {saved.NumHiddenLayers} layers{(saved.UsesMla ? ", MLA" : "")}{(saved.UsesMoe ? ", MoE" : "")}{(saved.UsesMtp ? ", MTP" : "")}); " +
                "a resumed run keeps its checkpoint's model. Drop the option, or start a new run with another --out.");
    }
}
}
