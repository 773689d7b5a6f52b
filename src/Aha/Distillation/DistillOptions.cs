using Aha.Tasks;

namespace Aha.Distillation;

/// <summary>
/// How a teacher is asked for traces: K samples for each of the first N distinct training problems, drawn with
/// <see cref="PromptSpec.SampleSeed"/>(seed, 0, problem, sample) so a rerun asks for exactly the same traces.
/// The defaults sample as DeepSeek-R1 recommends for its distilled models (temperature 0.6, top-p 0.95).
/// </summary>
public sealed record DistillOptions
{
    /// <summary>Distinct training problems to ask about.</summary>
    public int Prompts { get; init; } = 256;
    /// <summary>K: traces requested per problem.</summary>
    public int Samples { get; init; } = 4;
    public int MaxCompletionTokens { get; init; } = 64;
    public double Temperature { get; init; } = 0.6;
    /// <summary>Nucleus mass for an in-process teacher (an endpoint samples with its own top-p: OpenAI's API has one, not every server honours it).</summary>
    public double TopP { get; init; } = 0.95;
    /// <summary>The template of the student's prompt, and of an in-process teacher's; an endpoint gets the chat messages.</summary>
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Short;
    /// <summary>Whether an endpoint teacher gets the R1 system message before the problem (DeepSeek's R1-Distill models ask for none).</summary>
    public bool SystemMessage { get; init; } = true;
    public long Seed { get; init; } = 1;
    /// <summary>Problems an in-process teacher decodes together (the traces do not depend on it).</summary>
    public int BatchPrompts { get; init; } = 32;

    public DistillOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"distill: {message}"); }
        Require(Prompts > 0, $"--prompts must be positive (got {Prompts}).");
        Require(Samples is > 0 and < PromptSpec.PromptSeedStride, $"--samples must be between 1 and {PromptSpec.PromptSeedStride - 1} (got {Samples}).");
        Require(MaxCompletionTokens > 0, $"--max-tokens must be positive (got {MaxCompletionTokens}).");
        Require(Temperature >= 0 && double.IsFinite(Temperature), $"--temperature must be ≥ 0 (got {Temperature}).");
        Require(TopP is > 0 and <= 1, $"--top-p must be in (0, 1] (got {TopP}).");
        Require(BatchPrompts > 0, $"batch prompts must be positive (got {BatchPrompts}).");
        return this;
    }
}
