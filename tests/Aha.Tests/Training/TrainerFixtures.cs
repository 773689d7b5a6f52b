using System.Text.Json.Nodes;
using Aha.Data;
using Aha.Model;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Tests.Training;

/// <summary>Tiny models, options and sources for trainer tests; weights come from a formula, never the global RNG, so parallel tests cannot disturb them.</summary>
static class TrainerFixtures
{
    public static ModelConfig Config { get; } = ModelPresets.Get("tiny", 64) with { HiddenSize = 32, IntermediateSize = 64, NumAttentionHeads = 4, NumKeyValueHeads = 2 };

    public static ITokenizer Tokenizer { get; } = ModelPresets.Tokenizer(Config);

    public static LlamaModel NewModel() => TinyModels.WithFormulaWeights(Config);

    public static LanguageModelTrainerOptions Options { get; } = new()
    {
        Steps = 4, BatchSize = 2, SequenceLength = 16, LearningRate = 1e-2, WarmupSteps = 0, MinLrRatio = 1,
        EvalEvery = 0, SaveEvery = 0, LogEvery = 1000, Seed = 7,
    };

    public static PackedBatchSource Source(LanguageModelTrainerOptions o) =>
        new(Tokenizer, BuiltinCorpus.Documents("arithmetic", TaskSplit.Train, o.Seed), o.BatchSize, o.SequenceLength, o.Seed);

    public static LanguageModelTrainer Trainer(LlamaModel model, LanguageModelTrainerOptions o, IBatchSource? source = null,
        string? runDir = null, Action<StepReport>? onStep = null, List<string>? warnings = null) =>
        new(model, Tokenizer, o, source ?? Source(o)) { RunDirectory = runDir, OnStep = onStep, Log = _ => { }, Warn = w => warnings?.Add(w) };

    public static Dictionary<string, float[]> Weights(LlamaModel model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
}

/// <summary>The same batch forever: what "overfit one batch" needs.</summary>
sealed class FixedBatchSource(TrainingBatch batch) : IBatchSource
{
    public TrainingBatch Next() => batch;
    public JsonNode Position => new JsonObject();
    public void Seek(JsonNode position) { }
}

/// <summary>Passes batches through, and before batch number <paramref name="poisonAt"/> sets a norm gain to NaN: every later loss is non-finite.</summary>
sealed class PoisoningSource(IBatchSource inner, LlamaModel model, int poisonAt) : IBatchSource
{
    int _served;

    public TrainingBatch Next()
    {
        if (++_served == poisonAt)
        {
            using var noGrad = TorchSharp.torch.no_grad();
            model.named_parameters().First(p => p.name.EndsWith("norm.weight", StringComparison.Ordinal)).parameter.fill_(float.NaN);
        }
        return inner.Next();
    }

    public JsonNode Position => inner.Position;
    public void Seek(JsonNode position) => inner.Seek(position);
}
