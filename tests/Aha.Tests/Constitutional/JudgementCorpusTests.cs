using System.Text.RegularExpressions;
using Aha.Constitutional;
using Aha.Data;
using Aha.Tasks;

namespace Aha.Tests.Constitutional;

/// <summary>The built-in corpus that teaches a byte model to judge, critique and revise additions.</summary>
public class JudgementCorpusTests
{
    [Theory]
    [InlineData(47, 38, -1, 0, "7+8=15, 4+3+1=8", 85)]
    [InlineData(38, 10, 1, 1, "8+0=8, 3+1=5", 58)]    // a phantom carry, the policy's typical worked slip
    [InlineData(99, 99, -1, 0, "9+9=18, 9+9+1=19", 198)]
    [InlineData(55, 45, 0, -1, "5+5=9, 5+4=9", 99)]   // the slip loses the carry, and the working goes on from it
    public void Columns_write_the_working_and_carry_on_from_a_slip(long a, long b, int slip, int delta, string columns, long value) =>
        Assert.Equal((columns, value), JudgementCorpus.Columns(a, b, slip, delta));

    [Fact]
    public void Without_noise_every_judgement_picks_the_verified_answer_and_every_document_fits_the_demo_context()
    {
        var task = TaskRegistry.Addition();
        var corpus = new JudgementCorpus(task, options: new JudgementCorpusOptions { LabelNoise = 0, CritiqueNoise = 0 });
        var docs = corpus.Documents(3).Take(600).ToList();
        var judgements = docs.Where(d => d.Contains(CaiText.AnswerOpen)).ToList();
        var critiques = docs.Where(d => d.Contains("\nR: ")).ToList();
        Assert.InRange(judgements.Count, 120, 240);
        Assert.InRange(critiques.Count, 120, 240);
        int decisive = 0;
        foreach (var doc in judgements)
        {
            var m = Regex.Match(doc, @"What is (\d+)\+(\d+)\?\nAssistant:\n\(A\)(.*)\n\(B\)(.*)\nQ: .*\nAnswer: \((A|B)\)$");
            Assert.True(m.Success, doc);
            var item = new TaskItem("x", $"What is {m.Groups[1].Value}+{m.Groups[2].Value}?", (long.Parse(m.Groups[1].Value) + long.Parse(m.Groups[2].Value)).ToString());
            bool a = task.Verify(m.Groups[3].Value, item).Correct, b = task.Verify(m.Groups[4].Value, item).Correct;
            if (a == b) continue;
            decisive++;
            Assert.Equal(a ? "A" : "B", m.Groups[5].Value);
        }
        Assert.True(decisive > 30, $"{decisive} decisive judgements");
        foreach (var doc in critiques)
        {
            var revision = doc[(doc.LastIndexOf("\nR:", StringComparison.Ordinal) + 3)..];
            var sum = Regex.Match(doc, @"What is (\d+)\+(\d+)\?");
            Assert.Contains($"<answer>{long.Parse(sum.Groups[1].Value) + long.Parse(sum.Groups[2].Value)}</answer>", revision);
        }
        Assert.True(docs.Max(d => d.Length) <= 256, $"longest document {docs.Max(d => d.Length)} bytes: {docs.MaxBy(d => d.Length)}");
    }

    [Fact]
    public void The_cai_corpus_is_built_in_and_a_pure_function_of_its_seed()
    {
        Assert.Contains("cai", BuiltinCorpus.Names);
        Assert.Equal(BuiltinCorpus.Documents("cai", TaskSplit.Train, 5).Take(50), BuiltinCorpus.Documents("cai", TaskSplit.Train, 5).Take(50));
    }
}
