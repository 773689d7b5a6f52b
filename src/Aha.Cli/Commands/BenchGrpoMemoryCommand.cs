using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha bench grpo-memory`: peak RSS and seconds of one GRPO step on Qwen2.5-0.5B's shape (random weights, float32),
/// full fine-tune (with its reference copy) against LoRA, beside <see cref="GrpoMemory"/>'s estimate.
/// </summary>
static class BenchGrpoMemoryCommand
{
    public static Command Create()
    {
        var prompts = new Option<int>("--prompts") { Description = "Prompts per step.", DefaultValueFactory = _ => 2 };
        var group = new Option<int>("--group-size") { Description = "Samples per prompt.", DefaultValueFactory = _ => 4 };
        var tokens = new Option<int>("--max-tokens") { Description = "New tokens per rollout (a random policy uses them all).", DefaultValueFactory = _ => 64 };
        var rank = new Option<int>("--lora-rank") { Description = "LoRA rank (all seven projections, α = 2r).", DefaultValueFactory = _ => 16 };
        var modes = new Option<string>("--modes") { Description = "Which to run, in order: lora,full (each after the previous one's memory is released).", DefaultValueFactory = _ => "lora,full" };
        var threads = RunOptions.NewThreads();
        var command = new Command("grpo-memory", "Peak RSS and seconds of one GRPO step on Qwen2.5-0.5B's shape with random weights: full fine-tune vs LoRA, against the estimate of aha info.")
        {
            prompts, group, tokens, rank, modes, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            var config = BenchLoadCommand.Qwen25HalfB;
            var options = new GrpoOptions
            {
                Steps = 1, PromptsPerStep = r.GetValue(prompts), GroupSize = r.GetValue(group), MaxCompletionTokens = r.GetValue(tokens), Beta = 0.001f,
            }.Validate();
            var lora = new LoraConfig { Rank = r.GetValue(rank), Alpha = 2.0 * r.GetValue(rank) }.Validate();
            var task = TaskRegistry.Addition();
            // A random policy earns no accuracy or format reward; the first byte being ASCII gives every group signal, so the update runs.
            var rewards = new RewardSet([(new DelegateReward("bench_ascii_first", c => c.Text.Length > 0 && c.Text[0] < 128 ? 1f : 0f), 1f)]);
            var rows = new List<(string, string)> { ("model", $"Qwen2.5-0.5B shape, float32, random weights; {options.PromptsPerStep} × {options.GroupSize} rollouts, {options.MaxCompletionTokens} tokens, β {options.Beta}, threads {torch.get_num_threads()}") };
            var json = new JsonObject { ["bench"] = "grpo-memory", ["model"] = "qwen2.5-0.5b-shape", ["prompts"] = options.PromptsPerStep, ["group_size"] = options.GroupSize, ["max_tokens"] = options.MaxCompletionTokens, ["lora_rank"] = lora.Rank, ["threads"] = torch.get_num_threads() };
            foreach (var mode in r.GetValue(modes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (mode is not ("lora" or "full")) throw new ArgumentException($"--modes: '{mode}' is neither lora nor full.");
                GC.Collect();
                NativeMemory.Trim();
                File.WriteAllText("/proc/self/clear_refs", "5"); // restart VmHWM: this mode's peak only
                var (before, _) = BenchCommand.Rss();
                var clock = Stopwatch.StartNew();
                torch.manual_seed(0);
                GrpoStep step;
                using (var model = new LlamaModel(config))
                {
                    if (mode == "lora") model.AttachLora(lora);
                    using var trainer = new GrpoTrainer(model, new FoldedByteTokenizer(), task, rewards, options) { Log = _ => { } };
                    var stepClock = Stopwatch.StartNew();
                    step = trainer.Step(0);
                    json[$"{mode}_step_seconds"] = Math.Round(stepClock.Elapsed.TotalSeconds, 1);
                }
                var (_, peak) = BenchCommand.Rss();
                int promptTokens = 20; // the addition task's short prompts, in bytes: about 20
                var estimate = GrpoMemory.Of(config, mode == "lora" ? lora : null, options.PromptsPerStep * options.GroupSize, promptTokens + options.MaxCompletionTokens);
                rows.Add(($"{mode}: peak RSS", $"{BenchCommand.Mib(peak)} (estimate {BenchCommand.Mib(estimate.Total)}, {(double)estimate.Total / peak - 1:+0%;-0%})"));
                rows.Add(($"{mode}: seconds (build + step)", $"{clock.Elapsed.TotalSeconds:F1} (step {json[$"{mode}_step_seconds"]}: generation {step["seconds_generation"]:F1}, reference {step["seconds_reference"]:F1}, update {step["seconds_update"]:F1})"));
                json[$"{mode}_peak_rss_bytes"] = peak;
                json[$"{mode}_estimate_bytes"] = estimate.Total;
                json[$"{mode}_rss_before_bytes"] = before;
                json[$"{mode}_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
                foreach (var phase in new[] { "generation", "reference", "update" }) json[$"{mode}_seconds_{phase}"] = Math.Round(step[$"seconds_{phase}"], 2);
                if (mode == "lora") json["lora_adapter_parameters"] = estimate.AdapterParameters;
            }
            BenchCommand.Report("aha bench grpo-memory", rows, json);
        }));
        return command;
    }

    /// <summary>
    /// The byte tokenizer, decoding a random policy's ids beyond its 264 (Qwen's vocabulary is 151,936) as id mod 264:
    /// the step's shapes and work are Qwen's, the text only feeds the synthetic reward. No Qwen tokenizer ships with Aha.
    /// </summary>
    sealed class FoldedByteTokenizer : ITokenizer
    {
        static readonly ITokenizer Inner = ByteTokenizer.Default;
        public int VocabSize => Inner.VocabSize;
        public int? BosId => Inner.BosId;
        public int? EosId => Inner.EosId;
        public int PadId => Inner.PadId;
        public IReadOnlyList<int> StopIds => Inner.StopIds;
        public int[] Encode(string text, bool addSpecialTokens = false) => Inner.Encode(text, addSpecialTokens);
        public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) => Inner.Decode(ids.Select(id => id % Inner.VocabSize), skipSpecialTokens);
        public int? TokenToId(string token) => Inner.TokenToId(token);
        public string? IdToToken(int id) => Inner.IdToToken(id % Inner.VocabSize);
        public bool IsSpecial(int id) => Inner.IsSpecial(id % Inner.VocabSize);
        public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) => Inner.EncodeChat(messages, options);
        public string RenderChat(IReadOnlyList<ChatMessage> messages, ChatOptions? options = null) => Inner.RenderChat(messages, options);
        public (int[] Ids, bool[] IsCompletion) EncodeChatForTraining(IReadOnlyList<ChatMessage> messages) => Inner.EncodeChatForTraining(messages);
        public void Save(string directory) => Inner.Save(directory);
    }
}
