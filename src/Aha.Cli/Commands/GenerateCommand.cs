using System.CommandLine;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Generation;
using Aha.Tokenizer;

namespace Aha.Cli.Commands;

static class GenerateCommand
{
    public static Command Create()
    {
        var modelPath = new Option<string>("--model") { Description = "A checkpoint folder, or a run folder (uses its latest checkpoint).", Required = true };
        var prompts = new Option<string[]>("--prompt") { Description = "Text to continue; repeat for a batch.", Required = true, AllowMultipleArgumentsPerToken = false };
        var maxTokens = new Option<int>("--max-tokens") { Description = "New tokens per prompt at most.", DefaultValueFactory = _ => 128 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy.", DefaultValueFactory = _ => 0.8 };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most likely tokens (0 = off).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass (1 = off).", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "Seed; prompt i uses seed + i.", DefaultValueFactory = _ => 0 };
        var stops = new Option<string[]>("--stop") { Description = "Stop a row when its text ends with this string (repeatable); the string is kept." };
        var chat = new Option<bool>("--chat") { Description = "Wrap each prompt in the model's chat template as a user turn (for SFT models); the turn's end stops the row." };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA adapter folder (PEFT format, e.g. a step of a LoRA run) applied on top of --model." };
        var json = new Option<bool>("--json") { Description = "One JSON object per prompt: prompt, prompt_ids, completion, completion_ids, tokens, finish." };
        var run = new RunOptions();
        var command = new Command("generate", "Continue prompts with a trained model (batched, KV cache).")
        {
            modelPath, adapter, prompts, maxTokens, temperature, topK, topP, seed, stops, chat, json, run.Threads, run.Device, run.Dtype,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var device = run.Initialize(r);
            var texts = r.GetValue(prompts)!;
            var stopStrings = r.GetValue(stops) ?? [];
            if (stopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("--stop: an empty stop string would stop every row at once; remove it.");
            var (model, checkpoint) = Cli.LoadModel(r.GetValue(modelPath)!, device, run.ComputeDtype(r));
            if (r.GetValue(adapter) is { } adapterDir) AdapterCheckpoint.Open(adapterDir).AttachTo(model);
            var tokenizer = checkpoint.Tokenizer;
            bool isChat = r.GetValue(chat);
            // Plain prompts are tokenized as Hugging Face's tokenizer(prompt) does by default: BOS where the tokenizer adds one.
            var requests = texts.Select((text, i) => new GenerationRequest(
                isChat ? tokenizer.EncodeChat([new ChatMessage("user", text)]) : tokenizer.Encode(text, addSpecialTokens: true), r.GetValue(seed) + i)).ToList();
            var sampling = new SamplingOptions
            {
                Temperature = r.GetValue(temperature), TopK = r.GetValue(topK), TopP = r.GetValue(topP), MaxNewTokens = r.GetValue(maxTokens),
                // A chat turn ends at end of turn or end of text; a plain continuation only at end of text.
                StopTokenIds = isChat ? tokenizer.StopIds : tokenizer.EosId is { } eos ? [eos] : [],
            }.Validate();
            // Decoding only a tail long enough for the longest stop string keeps the check cheap per token.
            int tail = stopStrings.Length == 0 ? 0 : stopStrings.Max(s => System.Text.Encoding.UTF8.GetByteCount(s)) + 4;
            StopPredicate? stop = stopStrings.Length == 0 ? null : (_, ids) =>
            {
                string end = tokenizer.Decode(ids.Skip(Math.Max(0, ids.Count - tail)), skipSpecialTokens: true);
                return stopStrings.Any(s => end.EndsWith(s, StringComparison.Ordinal));
            };
            var completions = new Engine(model).Generate(requests, sampling, stop);
            for (int i = 0; i < texts.Length; i++)
            {
                var c = completions[i];
                string text = tokenizer.Decode(c.TokenIds, skipSpecialTokens: true);
                if (r.GetValue(json))
                    Console.WriteLine(new JsonObject
                    {
                        ["prompt"] = texts[i], ["prompt_ids"] = new JsonArray([.. requests[i].PromptIds.Select(id => (JsonNode)id)]), ["completion"] = text, ["completion_ids"] = new JsonArray([.. c.TokenIds.Select(id => (JsonNode)id)]),
                        ["tokens"] = c.TokenIds.Count,
                        ["finish"] = c.Finish.ToString().ToLowerInvariant(),
                    }.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
                else Console.WriteLine($"{texts[i]}{(isChat ? "\n" : "")}{text}{(c.Truncated ? " [truncated]" : "")}");
            }
        }));
        return command;
    }
}
