using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Distillation;
using Aha.Eval;
using Aha.Model;
using Aha.Remote;
using Aha.Serving;
using Aha.Tasks;
using Aha.Tests.Model;
using Aha.Tests.Serving;
using Aha.Tests.Training;
using Aha.Tokenizer;

namespace Aha.Tests.Distillation;

/// <summary><c>aha distill</c>'s teacher over real loopback HTTP: replies, deadlines, malformed replies, resuming, and the CLI end to end.</summary>
public class DistillEndpointTests
{
    static readonly ITask Addition = TaskRegistry.Addition();
    static readonly IReadOnlyList<TaskItem> Items = ModelEvaluator.Problems(Addition, 6, TaskSplit.Train, 1);

    static DistillOptions Options(double temperature = 0) => new() { Prompts = 6, Samples = 2, Temperature = temperature, MaxCompletionTokens = 32 };

    static ChatEndpoint Endpoint(string url, double deadlineSeconds = 30, int retries = 0, int concurrency = 2, string model = "teacher") => new(new ChatEndpointOptions
    {
        BaseUrl = new Uri(url), Model = model, Deadline = TimeSpan.FromSeconds(deadlineSeconds), Retries = retries,
        Backoff = TimeSpan.FromMilliseconds(10), MaxConcurrency = concurrency, Option = "--teacher-url",
    });

    static Task<(IReadOnlyList<TeacherTrace> Traces, DistillTally Tally)> Collect(ChatEndpoint endpoint, string dir, DistillOptions? options = null) =>
        Distiller.CollectAsync(new EndpointTeacher(endpoint, options ?? Options()), Addition, options ?? Options(), dir, _ => { });

    static int Sum(TaskItem item) => int.Parse(item.Answer);

    static List<(int, int)> OnDisk(string dir) => [.. File.ReadAllLines(Path.Combine(dir, Distiller.TracesFile))
        .Select(l => JsonNode.Parse(l)!).Select(n => ((int)n["problem"]!, (int)n["sample"]!))];

    [Fact]
    public async Task Endpoint_traces_carry_the_reasoning_and_only_the_verified_ones_become_sft_rows()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        using var endpoint = Endpoint(server.BaseUrl);
        var (traces, tally) = await Collect(endpoint, dir.Path);

        Assert.Equal(12, server.Received.Count);
        Assert.Equal(new DistillTally(6, 12, 12, 2 * Items.Count(i => Sum(i) % 2 == 0)), tally);
        foreach (var t in traces)
        {
            var item = Items[t.Problem];
            int written = Sum(item) % 2 == 0 ? Sum(item) : Sum(item) + 10; // the server gets odd sums wrong
            Assert.Equal(item.Id, t.Id);
            Assert.Equal(item.Prompt.Replace("What is ", "").TrimEnd('?') + $"={written}", t.Reasoning);
            Assert.Equal($"<think>{t.Reasoning}</think> <answer>{written}</answer>", t.Completion);
            Assert.Equal(Sum(item) % 2 == 0, t.Correct);
        }
        Assert.Equal(12, OnDisk(dir.Path).Distinct().Count());

        var kept = traces.Where(t => t.Correct).ToList();
        string sft = Path.Combine(dir.Path, Distiller.SftFile);
        Distiller.WriteSft(sft, Addition, kept, PromptStyle.Short);
        var rows = File.ReadAllLines(sft).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(kept.Count, rows.Count);
        Assert.Equal($"User: {kept[0].Prompt}\nAssistant:", (string)rows[0]["prompt"]!);
        Assert.Equal(" " + kept[0].Completion, (string)rows[0]["completion"]!); // the template's space before <think>

        var tokenizer = ByteTokenizer.Default;
        var (ids, scored) = Distiller.Encode(tokenizer, Addition, Items[kept[0].Problem], kept[0].Completion, PromptStyle.Short);
        int[] prompt = tokenizer.Encode($"User: {kept[0].Prompt}\nAssistant:", addSpecialTokens: true);
        Assert.Equal([.. prompt, .. tokenizer.Encode(" " + kept[0].Completion, addSpecialTokens: false), tokenizer.EosId!.Value], ids);
        Assert.Equal([.. Enumerable.Repeat(false, prompt.Length), .. Enumerable.Repeat(true, ids.Length - prompt.Length)], scored);
    }

    [Fact]
    public async Task A_teacher_that_misses_the_deadline_fails_naming_the_url_and_what_to_do_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        server.Behave = _ => TeacherServer.Mode.Stall;
        using var endpoint = Endpoint(server.BaseUrl, deadlineSeconds: 0.3, retries: 1, concurrency: 1);
        var e = await Assert.ThrowsAsync<EndpointException>(() => Collect(endpoint, dir.Path));

        Assert.Contains($"--teacher-url {server.BaseUrl}", e.Message);
        Assert.Contains("no reply within 0.3 s; raise the deadline", e.Message);
        Assert.Contains("gave up after 2 attempts", e.Message);
        Assert.Contains("0 of the 12 traces requested arrived", e.Message);
        Assert.Contains("rerun the same command to request only the 12 left", e.Message);
        Assert.Equal(2, server.Received.Count); // one request and its one retry; the others were never sent
        Assert.Empty(OnDisk(dir.Path));
    }

    [Fact]
    public async Task A_malformed_reply_is_not_retried_and_says_what_the_server_sent()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        server.Behave = _ => TeacherServer.Mode.Malformed;
        using var endpoint = Endpoint(server.BaseUrl, retries: 3, concurrency: 1);
        var e = await Assert.ThrowsAsync<EndpointException>(() => Collect(endpoint, dir.Path));

        Assert.Contains("the reply is not an OpenAI chat completion", e.Message);
        Assert.Contains("it began: <html>502 Bad Gateway", e.Message);
        Assert.Single(server.Received);
        Assert.Empty(OnDisk(dir.Path));
    }

    [Fact]
    public async Task A_rerun_after_a_failure_requests_only_the_traces_not_yet_on_disk()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        server.Behave = user => user == Items[3].Prompt ? TeacherServer.Mode.Malformed : TeacherServer.Mode.Answer;
        using (var endpoint = Endpoint(server.BaseUrl))
            await Assert.ThrowsAsync<EndpointException>(() => Collect(endpoint, dir.Path));
        var first = OnDisk(dir.Path);
        Assert.True(first.Count >= 5, $"only {first.Count} traces were kept before the failure"); // problems 0-2 finish before 3 is asked
        Assert.DoesNotContain(first, t => t.Item1 == 3);

        server.Behave = _ => TeacherServer.Mode.Answer;
        server.Received.Clear();
        using (var endpoint = Endpoint(server.BaseUrl))
        {
            var (traces, tally) = await Collect(endpoint, dir.Path);
            var expected = Enumerable.Range(0, 6).SelectMany(p => Enumerable.Range(0, 2).Select(k => (p, k))).Except(first).Select(t => Items[t.Item1].Prompt).Order();
            Assert.Equal(expected, server.Received.Order());
            Assert.Equal(12 - first.Count, tally.Requested);
            Assert.Equal(12, traces.Count);
            Assert.Equal(12, OnDisk(dir.Path).Distinct().Count());
        }

        server.Received.Clear();
        using (var endpoint = Endpoint(server.BaseUrl))
            Assert.Equal(0, (await Collect(endpoint, dir.Path)).Tally.Requested);
        Assert.Empty(server.Received);
    }

    [Fact]
    public async Task Traces_asked_with_other_settings_are_refused_rather_than_mixed()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        using var endpoint = Endpoint(server.BaseUrl);
        await Collect(endpoint, dir.Path);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Collect(endpoint, dir.Path, Options(temperature: 0.7)));
        Assert.Contains("temperature = 0, this run asks with 0.7", e.Message);
    }

    [Fact]
    public void A_torn_last_line_is_dropped_and_a_damaged_one_is_named()
    {
        using var dir = new TempDirectory();
        string path = dir["traces.jsonl"];
        var trace = new TeacherTrace(0, 0, "1-0", "What is 1+1?", "2", "<answer>2</answer>", null, 5, "stop", "2", true);
        var (file, existing) = TraceFile.Open(path);
        using (file)
        {
            Assert.Empty(existing);
            file.Append(trace);
            file.Append(trace with { Sample = 1 });
        }
        string whole = File.ReadAllText(path);
        File.AppendAllText(path, "{\"problem\": 1, \"sam"); // the crash hit mid-write
        (file, existing) = TraceFile.Open(path);
        using (file)
            Assert.Equal([trace, trace with { Sample = 1 }], existing);
        Assert.Equal(whole, File.ReadAllText(path));

        File.WriteAllText(path, whole.Replace("\"sample\":1", "\"sample\":"));
        var e = Assert.Throws<InvalidDataException>(() => TraceFile.Open(path));
        Assert.StartsWith($"{path}:2: not a trace", e.Message);
    }

    [Fact]
    public async Task An_aha_serve_teacher_gives_its_reasoning_and_answer_as_a_trace()
    {
        using var dir = new TempDirectory();
        string reply = $"<think>{Items[0].Prompt[8..^1]}</think><answer>{Items[0].Answer}</answer>";
        string modelDir = ServingFixture.SaveThinker(dir["model"], Items[0].Prompt, reply);
        using var served = ServedModel.Load(modelDir, maxBatch: 4, maxQueue: 16);
        await using var app = OpenAiServer.Build(served, new ServerOptions { Port = 0 });
        await app.StartAsync();
        var options = Options() with { Prompts = 2, Samples = 1, SystemMessage = false, MaxCompletionTokens = 56 };
        using var endpoint = Endpoint(OpenAiServer.Address(app) + "/v1", model: served.Id);
        var (traces, tally) = await Distiller.CollectAsync(new EndpointTeacher(endpoint, options), Addition, options, dir["run"], _ => { });

        Assert.Equal(2, tally.Requested);
        Assert.Equal(Items[0].Prompt[8..^1], traces[0].Reasoning);
        Assert.Equal(reply, traces[0].Completion);
        Assert.True(traces[0].Correct);
        Assert.Equal("stop", traces[0].FinishReason);
        await app.StopAsync();
    }

    [Fact]
    public async Task The_cli_distils_a_student_from_an_endpoint_and_reports_requested_kept_and_accuracy()
    {
        using var dir = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        var config = TinyModels.Config() with { VocabSize = ByteTokenizer.VocabSize, BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos, PadTokenId = ByteTokenizer.Pad, MaxPositionEmbeddings = 96 };
        using (var model = TinyModels.Random(config)) Checkpoint.Save(dir.Path, "student", model, config, ByteTokenizer.Default);
        string[] args = ["distill", "--teacher-url", server.BaseUrl, "--teacher-model", "teacher", "--student", dir["student"], "--task", "addition",
            "--prompts", "6", "--samples", "2", "--trace-seed", "1", "--temperature", "0", "--max-tokens", "24", "--steps", "3", "--batch-size", "4",
            "--eval-problems", "4", "--out", dir["run"], "--threads", "1"];
        var process = new CliProcess(args);
        int code = await Task.Run(() => process.Wait(TimeSpan.FromSeconds(120)));
        Assert.True(code == 0, process.Stderr);
        var summary = JsonNode.Parse(File.ReadAllText(dir["run/summary.json"]))!;
        int even = Items.Count(i => Sum(i) % 2 == 0);
        Assert.Equal(12, (int)summary["traces"]!);
        Assert.Equal(12, (int)summary["requested"]!);
        Assert.Equal(2 * even, (int)summary["kept"]!);
        Assert.Equal(even / 6.0, (double)summary["teacher_accuracy"]!, 3);
        Assert.NotNull(summary["student_accuracy_before"]);
        Assert.NotNull(summary["student_accuracy_after"]);
        Assert.Equal(3, (int)summary["step"]!);
        Assert.Equal(2 * even, File.ReadAllLines(dir["run/sft.jsonl"]).Length);

        // The same command again asks the teacher for nothing.
        server.Received.Clear();
        process.Dispose();
        using var again = new CliProcess([.. args, "--overwrite"]);
        Assert.True(await Task.Run(() => again.Wait(TimeSpan.FromSeconds(120))) == 0, again.Stderr);
        Assert.Empty(server.Received);
        Assert.Equal(0, (int)JsonNode.Parse(File.ReadAllText(dir["run/summary.json"]))!["requested"]!);
    }
}
