using Aha.Model;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Distillation;

/// <summary>What a run of student training spent, in the FLOPs of <see cref="Flops"/>: the unit that matches compute across SFT and GRPO.</summary>
public static class StudentCompute
{
    /// <summary>
    /// One SFT step of <paramref name="rowsPerStep"/> rows of <paramref name="meanRowLength"/> ids: forward and backward
    /// (<see cref="Flops.TrainingPerToken"/>) over every id trained.
    /// </summary>
    public static double SftStep(ModelConfig config, long parameters, int rowsPerStep, double meanRowLength) =>
        rowsPerStep * meanRowLength * Flops.TrainingPerToken(config, parameters, (int)Math.Ceiling(meanRowLength));

    /// <summary>
    /// One GRPO step from its rollouts: per id of prompt and completion, generation (a forward), the reference model's
    /// forward when β &gt; 0, and the update's forward and backward. Prompt ids are counted from the prompt text as the policy encodes it.
    /// </summary>
    public static double GrpoStep(ModelConfig config, long parameters, ITokenizer tokenizer, GrpoStep step, bool reference, Dictionary<string, int> promptLengths)
    {
        double tokens = 0;
        foreach (var sample in step.Samples)
        {
            if (!promptLengths.TryGetValue(sample.Prompt, out int prompt))
                promptLengths[sample.Prompt] = prompt = tokenizer.Encode(sample.Prompt, addSpecialTokens: true).Length;
            tokens += prompt + sample.Tokens;
        }
        int length = step.Samples.Count == 0 ? 1 : (int)Math.Ceiling(tokens / step.Samples.Count);
        double perToken = Flops.InferencePerToken(config, parameters) * (reference ? 2 : 1) + Flops.TrainingPerToken(config, parameters, length);
        return tokens * perToken;
    }
}

/// <summary>The student side of distillation: supervised fine-tuning on the verified traces, in the student's prompt style.</summary>
public static class StudentTraining
{
    /// <summary>The SFT batches of <paramref name="kept"/>: each trace encoded by <see cref="Distiller.Encode"/>, shuffled per epoch from the seed.</summary>
    public static ChatBatchSource Batches(ITokenizer tokenizer, ITask task, IReadOnlyList<TeacherTrace> kept, PromptStyle style, LanguageModelTrainerOptions options)
    {
        if (kept.Count == 0)
            throw new ArgumentException("the verifier kept none of the teacher's traces, so there is nothing to fine-tune on; check the teacher solves the task (traces.jsonl holds what it wrote), or raise --samples.");
        return new ChatBatchSource(kept.Select(t => Distiller.Encode(tokenizer, task, new TaskItem(t.Id, t.Prompt, t.Answer), t.Completion, style)),
            tokenizer.PadId, options.BatchSize, options.SequenceLength, options.Seed);
    }

    /// <summary>The steps of <paramref name="options"/>' shape that spend <paramref name="budget"/> FLOPs on <paramref name="source"/> (at least 1).</summary>
    public static int StepsFor(double budget, LlamaModel student, ChatBatchSource source, LanguageModelTrainerOptions options)
    {
        long parameters = student.parameters().Sum(p => p.numel());
        double perStep = StudentCompute.SftStep(student.Config, parameters, options.BatchSize * options.GradAccum, source.MeanRowLength);
        return Math.Max(1, (int)Math.Round(budget / perStep));
    }
}
