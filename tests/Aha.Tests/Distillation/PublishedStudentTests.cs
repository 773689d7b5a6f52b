using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Distillation;
using Aha.Tasks;
using Aha.Tests.Training;

namespace Aha.Tests.Distillation;

/// <summary>Distilling into a model laid out as the Hub ships it (Qwen3: sharded BF16 weights, its tokenizer and chat template).</summary>
public class PublishedStudentTests
{
    [Fact]
    public void A_chat_template_student_learns_the_whole_trace_reasoning_included()
    {
        using var temp = new TempDirectory();
        var tokenizer = ModelLoader.Open(PublishedCheckpoints.Build("qwen3", temp)).Tokenizer;
        var item = new TaskItem("1", "What is 12+30?", "42");
        string completion = "<think>12+30=42</think>\n\n<answer>42</answer>";
        var (ids, scored) = Distiller.Encode(tokenizer, TaskRegistry.Addition(), item, completion, PromptStyle.Chat);

        string learned = tokenizer.Decode([.. ids.Where((_, i) => scored[i])], skipSpecialTokens: false);
        // Qwen3's template keeps the last turn's reasoning (re-rendered with its own newlines) ahead of the answer.
        Assert.StartsWith("<think>\n12+30=42\n</think>\n\n<answer>42</answer>", learned.TrimStart());
        Assert.EndsWith("<|im_end|>", learned.TrimEnd());
        Assert.DoesNotContain("What is 12+30?", learned);
    }

    [Fact]
    public async Task The_cli_distils_into_a_hugging_face_student_through_its_chat_template()
    {
        using var temp = new TempDirectory();
        await using var server = await TeacherServer.StartAsync();
        string student = PublishedCheckpoints.Build("qwen3", temp);
        using var process = new CliProcess("distill", "--teacher-url", server.BaseUrl, "--teacher-model", "teacher", "--student", student,
            "--task", "addition", "--template", "chat", "--prompts", "4", "--samples", "1", "--temperature", "0", "--max-tokens", "16",
            "--steps", "2", "--batch-size", "2", "--eval-problems", "2", "--out", temp["run"], "--threads", "1");
        Assert.True(await Task.Run(() => process.Wait(TimeSpan.FromSeconds(120))) == 0, process.Stderr);

        var summary = JsonNode.Parse(File.ReadAllText(temp["run/summary.json"]))!;
        Assert.Equal(4, (int)summary["traces"]!);
        Assert.Equal(2, (int)summary["step"]!);
        var row = JsonNode.Parse(File.ReadLines(temp["run/sft.jsonl"]).First())!;
        Assert.Equal(["system", "user", "assistant"], row["messages"]!.AsArray().Select(m => (string)m!["role"]!));
        Assert.StartsWith("<think>", (string)row["messages"]![2]!["content"]!);
    }
}
