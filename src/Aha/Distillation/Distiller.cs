using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Remote;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Distillation;

/// <summary>What a collection found: traces in all (asked now or earlier), how many were asked now, and how many the verifier passed.</summary>
public sealed record DistillTally(int Problems, int Traces, int Requested, int Kept)
{
    /// <summary>Share of the teacher's traces the verifier accepts: the teacher's sampled accuracy on the training problems.</summary>
    public double TeacherAccuracy => Traces == 0 ? double.NaN : (double)Kept / Traces;
}

/// <summary>
/// Distillation's data half (DeepSeek-R1 §2.4: SFT of a small model on a larger one's verified reasoning): ask a teacher for
/// K traces on each of N training problems, keep them in a resumable log, let the task's verifier filter them, and turn
/// the survivors into SFT rows in the student's prompt style.
/// </summary>
public static class Distiller
{
    public const string TracesFile = "traces.jsonl", SettingsFile = "distill.json", SftFile = "sft.jsonl";

    static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Every trace of the first <see cref="DistillOptions.Prompts"/> distinct training problems × <see cref="DistillOptions.Samples"/>,
    /// asking the teacher only for those not already in <c>runDir/traces.jsonl</c>; each arrives on disk before the next is counted.
    /// </summary>
    public static async Task<(IReadOnlyList<TeacherTrace> Traces, DistillTally Tally)> CollectAsync(ITeacher teacher, ITask task, DistillOptions options,
        string runDir, Action<string> log, CancellationToken cancel = default)
    {
        options.Validate();
        var items = ModelEvaluator.Problems(task, options.Prompts, TaskSplit.Train, options.Seed);
        if (items.Count < options.Prompts) log($"note: task '{task.Name}' has {items.Count} distinct training problems (asked for {options.Prompts}).");
        CheckSettings(runDir, teacher.Name, task.Name, options);

        string path = Path.Combine(runDir, TracesFile);
        var (file, existing) = TraceFile.Open(path);
        using (file)
        {
            var traces = new List<TeacherTrace>();
            var done = new HashSet<(int, int)>();
            foreach (var t in existing)
            {
                if (t.Problem < items.Count && t.Id != items[t.Problem].Id)
                    throw new InvalidDataException($"{path}: trace of problem {t.Problem} answers '{t.Id}', but problem {t.Problem} of task '{task.Name}' is now '{items[t.Problem].Id}'; the task or its data changed since. Use another --out.");
                if (t.Problem < items.Count && t.Sample < options.Samples && done.Add((t.Problem, t.Sample))) traces.Add(t);
            }
            var requests = Enumerable.Range(0, items.Count)
                .SelectMany(p => Enumerable.Range(0, options.Samples).Where(k => !done.Contains((p, k))).Select(k => new TraceRequest(p, k, items[p])))
                .ToList();
            log($"teacher {teacher.Name}: {items.Count} problems × {options.Samples} samples; {traces.Count} traces already in {path}, {requests.Count} to request");

            int arrived = 0, correct = 0, every = Math.Max(1, requests.Count / 10);
            void OnReply(TraceRequest r, TeacherReply reply)
            {
                var verdict = task.Verify(reply.Completion, r.Item);
                var trace = new TeacherTrace(r.Problem, r.Sample, r.Item.Id, r.Item.Prompt, r.Item.Answer, reply.Completion, reply.Reasoning,
                    reply.Tokens, reply.FinishReason, verdict.Extracted, verdict.Correct);
                file.Append(trace);
                lock (traces)
                {
                    traces.Add(trace);
                    arrived++;
                    if (verdict.Correct) correct++;
                    if (arrived % every == 0 || arrived == requests.Count)
                        log($"traces {arrived}/{requests.Count} | correct {correct} ({100.0 * correct / arrived:F1}%)");
                }
            }
            try
            {
                await teacher.GenerateAsync(requests, OnReply, cancel);
            }
            catch (EndpointException e)
            {
                throw new EndpointException($"{e.Message}\n{arrived} of the {requests.Count} traces requested arrived before this and are kept in {path}; "
                    + $"rerun the same command to request only the {requests.Count - arrived} left.", e.Status, e);
            }
            traces.Sort((a, b) => a.Problem != b.Problem ? a.Problem.CompareTo(b.Problem) : a.Sample.CompareTo(b.Sample));
            return (traces, new DistillTally(items.Count, traces.Count, requests.Count, traces.Count(t => t.Correct)));
        }
    }

    /// <summary>
    /// The ids the student trains on for one trace, and which of them the loss scores (the completion and its end, never the prompt).
    /// Plain-text styles: <c>tokenizer(prompt)</c>, then the completion and EOS, as TRL builds prompt-completion rows (a space
    /// first when the completion has none, as the R1 template writes "Assistant: &lt;think&gt;"). Chat: the R1 conversation
    /// through the tokenizer's chat template, the assistant turn scored.
    /// </summary>
    public static (int[] Ids, bool[] IsCompletion) Encode(ITokenizer tokenizer, ITask task, TaskItem item, string completion, PromptStyle style) =>
        ChatBatchSource.Encode(tokenizer, task, item, style == PromptStyle.Chat ? completion : Separated(completion), style);

    static string Separated(string completion) => completion.Length > 0 && !char.IsWhiteSpace(completion[0]) ? " " + completion : completion;

    /// <summary>
    /// The verified traces as an SFT file <c>aha sft --data</c> reads: <c>{"messages": […]}</c> rows for the chat style,
    /// <c>{"prompt", "completion"}</c> rows (the prompt as the template renders it) otherwise. Written whole or not at all.
    /// </summary>
    public static void WriteSft(string path, ITask task, IReadOnlyList<TeacherTrace> kept, PromptStyle style)
    {
        var lines = kept.Select(t =>
        {
            var item = new TaskItem(t.Id, t.Prompt, t.Answer);
            JsonNode row = style == PromptStyle.Chat
                ? new JsonObject { ["messages"] = new JsonArray([.. Prompts.Messages(t.Prompt).Append(new ChatMessage("assistant", t.Completion))
                    .Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]) }
                : new JsonObject { ["prompt"] = task.Render(item, style), ["completion"] = Separated(t.Completion) };
            return row.ToJsonString(Readable) + "\n";
        });
        Durable.ReplaceText(path, string.Concat(lines));
    }

    // The settings that decide what a trace is; a rerun with other ones would mix two distributions in one file.
    static void CheckSettings(string runDir, string teacher, string task, DistillOptions o)
    {
        var settings = new JsonObject
        {
            ["teacher"] = teacher, ["task"] = task, ["prompt_style"] = o.PromptStyle.ToString().ToLowerInvariant(), ["temperature"] = o.Temperature,
            ["top_p"] = o.TopP, ["max_tokens"] = o.MaxCompletionTokens, ["seed"] = o.Seed, ["system_message"] = o.SystemMessage,
        };
        string path = Path.Combine(runDir, SettingsFile);
        if (File.Exists(path))
        {
            var saved = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object; delete it only if {TracesFile} beside it is empty.");
            foreach (var (key, value) in settings)
                if (!JsonNode.DeepEquals(saved[key], value))
                    throw new ArgumentException($"{path}: the traces in {runDir} were asked with {key} = {saved[key]?.ToJsonString() ?? "null"}, this run asks with {value?.ToJsonString()}; "
                        + "one trace file holds one teacher's samples at one setting. Use another --out, or the same settings to continue.");
            return;
        }
        Directory.CreateDirectory(runDir);
        Durable.ReplaceText(path, settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
