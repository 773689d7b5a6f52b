using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>One sampled completion of a task prompt, with the reward and the verifier's verdict once scored.</summary>
public sealed record Rollout(TaskItem Item, string Prompt, int[] PromptIds, IReadOnlyList<int> CompletionIds, string Text, bool Truncated)
{
    /// <summary>The weighted reward total (set by <see cref="Rollouts.Score"/>).</summary>
    public float Reward { get; set; }
    /// <summary>Whether the task's verifier accepts the answer: logged, and the reward only when a rule says so.</summary>
    public bool Correct { get; set; }
    /// <summary>Each reward function's score, by name.</summary>
    public Dictionary<string, float> ByName { get; } = [];
}

/// <summary>
/// What the RL trainers (GRPO, PPO) share around a step: sampling completions from the policy through the engine with the
/// one seed rule, scoring them, and the padded id batch with its completion-token mask.
/// </summary>
public static class Rollouts
{
    /// <summary>
    /// <paramref name="samplesPerPrompt"/> completions of each problem, sample g of prompt p seeded by
    /// <see cref="PromptSpec.SampleSeed"/>(seed, step, firstPromptIndex + p, g); rows are grouped by prompt. Generates in
    /// eval mode and leaves the policy in training mode.
    /// </summary>
    public static List<Rollout> Sample(LlamaModel policy, ITokenizer tokenizer, ITask task, IReadOnlyList<TaskItem> problems, int samplesPerPrompt,
        PromptStyle style, double temperature, int maxNewTokens, long seed, long step, int firstPromptIndex = 0)
    {
        var specs = problems.Select(p => PromptSpec.For(tokenizer, task, p, style)).ToList();
        var requests = new List<GenerationRequest>();
        for (int p = 0; p < problems.Count; p++)
            for (int g = 0; g < samplesPerPrompt; g++)
                requests.Add(new GenerationRequest(specs[p].Ids, PromptSpec.SampleSeed(seed, step, firstPromptIndex + p, g)));

        policy.eval();
        var completions = new Engine(policy).Generate(requests, new SamplingOptions
        {
            Temperature = temperature,
            MaxNewTokens = maxNewTokens,
            StopTokenIds = specs[0].StopIds,
        }, StopStrings.After(tokenizer, specs[0].StopStrings));
        policy.train(); // the trainer's update follows (LoRA dropout is on in training mode)

        return completions.Select((c, i) => new Rollout(problems[i / samplesPerPrompt], specs[i / samplesPerPrompt].Text,
            specs[i / samplesPerPrompt].Ids, c.TokenIds, tokenizer.Decode(c.TokenIds, skipSpecialTokens: true), c.Truncated)).ToList();
    }

    /// <summary>Sets each rollout's reward (the set's weighted total and each term) and the verifier's verdict.</summary>
    public static void Score(IReadOnlyList<Rollout> rollouts, RewardSet rewards, ITask task)
    {
        var batch = rollouts.Select(r => new Tasks.Rewards.Completion(r.Prompt, r.Text, r.Item, r.CompletionIds.Count, r.Truncated)).ToList();
        var scores = rewards.Score(batch);
        for (int i = 0; i < rollouts.Count; i++)
        {
            rollouts[i].Reward = scores.Total[i];
            rollouts[i].Correct = task.Verify(rollouts[i].Text, rollouts[i].Item).Correct;
            foreach (var (name, values) in scores.ByName) rollouts[i].ByName[name] = values[i];
        }
    }

    /// <summary>
    /// Right-padded prompt+completion ids (N, L) and the mask (N, L−1) of targets that are completion tokens (target
    /// position j predicts token j+1, so completion tokens sit at [prompt − 1, prompt − 1 + completion)).
    /// </summary>
    /// <param name="maskTruncated">Truncated rollouts get an all-zero mask (DAPO's overlong filtering).</param>
    public static (Tensor Ids, Tensor Mask) Batch(IReadOnlyList<Rollout> rollouts, int padId, Device device, bool maskTruncated = false)
    {
        int width = rollouts.Max(r => r.PromptIds.Length + r.CompletionIds.Count);
        var ids = new long[rollouts.Count * width];
        var mask = new float[rollouts.Count * (width - 1)];
        Array.Fill(ids, (long)padId);
        for (int i = 0; i < rollouts.Count; i++)
        {
            var r = rollouts[i];
            for (int t = 0; t < r.PromptIds.Length; t++) ids[i * width + t] = r.PromptIds[t];
            for (int t = 0; t < r.CompletionIds.Count; t++) ids[i * width + r.PromptIds.Length + t] = r.CompletionIds[t];
            if (maskTruncated && r.Truncated) continue;
            for (int t = 0; t < r.CompletionIds.Count; t++) mask[i * (width - 1) + r.PromptIds.Length - 1 + t] = 1;
        }
        return (tensor(ids, [rollouts.Count, width], device: device), tensor(mask, [rollouts.Count, width - 1], device: device));
    }
}
