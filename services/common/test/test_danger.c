/* Unit tests: antt_danger (emergency cues in the four writing styles:
 * Vietnamese with diacritics, without them, SMS shorthand, English) and the
 * clause marks of antt_text_fold_clauses it reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antt_danger.h"
#include "antt_text.h"
#include "antt_util.h"

#define POL ANTT_DANGER_POLICE
#define FIR ANTT_DANGER_FIRE
#define AMB ANTT_DANGER_AMBULANCE

typedef struct s_case {
    const char *text;
    unsigned mask; /* expected services (0: no emergency) */
} s_case_t;

static void s_check(const s_case_t *cases, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        antt_danger_t d;
        int rc = antt_danger_scan(cases[i].text, strlen(cases[i].text), &d);
        if (rc < 0 || d.mask != cases[i].mask || (rc > 0) != (d.mask != 0)) {
            print_message("\"%s\": mask %u (cues %d%s%s), expected %u\n", cases[i].text, d.mask, rc,
                          d.ncues ? ": " : "", d.ncues ? d.cues[0] : "", cases[i].mask);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Emergencies, each in the four styles. */
static const s_case_t s_positive[] = {
    /* fire */
    {"Cháy nhà ở hẻm 12, lửa bốc cao!", FIR},
    {"Chay nha o hem 12, lua boc cao!", FIR},
    {"chay nha o hem 12 lua boc cao", FIR},
    {"House on fire in alley 12, flames everywhere", FIR},
    {"Xe máy đang bốc cháy trong bãi giữ xe", FIR},
    {"xm dag boc chay trong bai giu xe", FIR},
    {"Có khói đen bốc ra từ căn hộ tầng 5", FIR},
    {"co khoi den boc ra tu can ho tang 5", FIR},
    {"Thick smoke coming out of the flat on floor 5", FIR},
    {"Nổ bình gas ở quán ăn đường số 8", FIR},
    {"no binh gas o quan an duong so 8", FIR},
    {"A loud explosion at the restaurant on street 8", FIR},
    {"Ngửi thấy mùi gas nồng nặc trong hành lang", FIR},
    {"ngui thay mui gas nong nac trong hanh lang", FIR},
    {"I smell gas in the corridor, very strong", FIR},
    {"Có người bị mắc kẹt trong thang máy", FIR},
    /* ambulance */
    {"Có người bị thương nặng nằm giữa đường", AMB},
    {"Co nguoi bi thuong nang nam giua duong", AMB},
    {"co ng bj thuong nang nam giua dg", AMB},
    {"A man is badly injured lying in the road", AMB},
    {"Một người đang chảy nhiều máu ở đầu", AMB},
    {"mot nguoi dang chay nhieu mau o dau", AMB},
    {"He is bleeding a lot from the head", AMB},
    {"Có cụ già ngất xỉu bên đường, không thở được", AMB},
    {"co cu gia ngat xiu ben duong k tho dc", AMB},
    {"An old man collapsed on the pavement and is not breathing", AMB},
    {"Có đứa bé bị đuối nước ở kênh", AMB},
    {"co dua be bi duoi nuoc o kenh", AMB},
    {"A child is drowning in the canal", AMB},
    {"Bố tôi bị đột quỵ, méo miệng, gọi cấp cứu giúp", AMB},
    {"bo toi bi dot quy goi cap cuu giup", AMB},
    {"My father is having a stroke, please send an ambulance", AMB},
    {"Người đàn ông nằm bất động sau va chạm", AMB},
    {"Nó bị thương ở chân", AMB}, /* "nó" is not the English "no" */
    /* police */
    {"Đang có đánh nhau rất lớn trước quán nhậu", POL},
    {"Dang co danh nhau rat lon truoc quan nhau", POL},
    {"dag co danh nhau rat lon trc quan nhau", POL},
    {"A big fight is going on outside the bar", POL},
    {"Có người cầm dao đứng trước cổng nhà tôi", POL},
    {"co nguoi cam dao dung truoc cong nha toi", POL},
    {"co ng cam dao dung trc cong nha mik", POL},
    {"A man with a knife is standing at my gate", POL},
    {"Có người cầm súng bắn chỉ thiên ở quán nhậu", POL},
    {"co ng cam sung ban chi thien o quan nhau", POL},
    {"Someone has a gun at the karaoke bar", POL},
    {"Đang có cướp ở tiệm vàng đầu chợ", POL},
    {"dang co cuop o tiem vang dau cho", POL},
    {"dag co cuop o tiem vang dau cho", POL},
    {"Armed robbery at the gold shop right now", POL},
    {"Cứu tôi với!", POL},
    {"cuu toi voi", POL},
    {"cứu vs", POL},
    {"cuu vs", POL},
    {"Cứu!", POL},
    {"Help!", POL},
    {"Please help me", POL},
    {"Có kẻ bắt cóc con tôi đưa lên xe", POL},
    {"co ke bat coc con toi dua len xe", POL},
    {"Someone kidnapped my daughter", POL},
    {"Chồng đang dọa giết mẹ con tôi", POL},
    {"ck dag doa giet me con tui", POL},
    {"My husband is threatening to kill me", POL},
    {"Khẩn cấp, công an đến ngay", POL},
    {"khan cap cong an den ngay", POL},
    {"Emergency, please come now", POL},
    {"Cha say rượu đang đánh mẹ tôi", POL}, /* "cha" (father) is no negation */
    {"Nhà bên cạnh chồng đang đánh vợ rất dữ", POL},
    /* several services */
    {"Có người bị đâm ở hẻm 15, đang nằm dưới đất", POL | AMB},
    {"co nguoi bi dam o hem 15 dang nam duoi dat", POL | AMB},
    {"Someone has been stabbed in alley 15", POL | AMB},
    {"Cháy nhà, có người bị bỏng nặng", FIR | AMB},
    {"chay nha co ng bj bong nang", FIR | AMB},
    {"The house is on fire and a woman is badly burned", FIR | AMB},
    {"Có người bị ngạt khói trong căn hộ", FIR | AMB},
    {"Hai nhóm hỗn chiến, một người bị chém chảy máu", POL | AMB},
    {"Two gangs are fighting with machetes, one man is bleeding", POL | AMB},
    /* a call for help with a named service: the service, not 113 */
    {"Cứu với, cháy nhà!", FIR},
    {"Help! My house is on fire", FIR},
    /* negated elsewhere in the sentence, present here */
    {"Không ai bị thương nhưng nhà đang cháy", FIR},
    {"Nobody is hurt but the house is burning", FIR},
    /* past in one clause, now in the other */
    {"Tuần trước tôi bị cướp, bây giờ nó đang cầm dao đứng trước nhà", POL},
    {"Last week he hit me, now he is holding a knife", POL},
    /* uncertain: a question is no negation */
    {"Không biết có ai bị thương không", AMB},
    {"Không hiểu sao xe bốc cháy", FIR},
    /* "đg" after a preposition is a road, elsewhere "đang" */
    {"dg co danh nhau tren dg so 7", POL},
    /* "số" (number) is not "sợ" (afraid) */
    {"vk ck nha so 12 dg danh nhau nguoi vo bi chay mau mui", POL | AMB},
    /* a threat is an emergency, whatever "will" says */
    {"He says he will kill me", POL},
    {"Nó dọa sẽ giết tôi", POL},
    /* emergencies told calmly: self-harm, weak breathing, seizures, under
     * water, someone held or locked in */
    {"Em không muốn sống nữa, em chuẩn bị thuốc ngủ rồi", AMB | POL},
    {"em ko muon song nua", AMB | POL},
    {"I can't take it anymore. I have pills here.", AMB | POL},
    {"Bà cụ nằm thở thoi thóp, môi tím tái", AMB},
    {"My mother needs her oxygen machine and he cut the power", AMB},
    {"Nó lên cơn co giật, sùi bọt mép sau khi hít", AMB},
    {"He is convulsing and foaming after the pills", AMB},
    {"Thằng bé bơi ra giữa hồ rồi chìm xuống, chưa nổi lên", AMB},
    {"I saw him go under twice, he went under near the rocks", AMB},
    {"Bọn đòi nợ nhốt tôi trong phòng từ hôm qua đến giờ", POL},
    {"They are holding me in a room above the shop since yesterday", POL},
    {"He locked me and my baby in the bedroom", POL},
    {"Cháu bé bị bỏ quên trong xe ngoài nắng", POL},
};

/* Not emergencies now: negated, over, past, or words that folding merges. */
static const s_case_t s_negative[] = {
    {"", 0},
    {"Nhà tôi bị trộm xe máy đêm qua", 0},
    {"nha toi bi trom xe may dem qua", 0},
    {"My motorbike was stolen last night", 0},
    {"Tuần trước tôi bị cướp điện thoại", 0},
    {"tuan truoc toi bi cuop dien thoai", 0},
    {"tuan trc toi bj cuop dt", 0},
    {"I was robbed last week near the market", 0},
    {"Vừa bị giật điện thoại, không ai bị thương", 0},
    {"vua bi giat dien thoai khong ai bi thuong", 0},
    {"vua bj giat dt ko ai bj thuong", 0},
    {"My phone was just snatched, no one hurt", 0},
    {"A bag snatching just happened, nobody is hurt", 0},
    {"Không có ai bị thương", 0},
    {"Chưa có ai bị thương", 0},
    {"Cháy nhỏ trong bếp nhưng đã dập tắt", 0},
    {"chay nho trong bep nhung da dap tat", 0},
    {"Đám cháy đã được dập tắt, không ai bị thương", 0},
    {"dam chay da dc dap tat ko ai bj thuong", 0},
    {"The kitchen fire was put out, no one was injured", 0},
    {"Có người bị thương nhưng đã được đưa đi cấp cứu", 0},
    {"The injured man was taken to hospital", 0},
    {"Hai đứa đánh nhau đã bỏ chạy", 0},
    {"Năm ngoái nhà tôi bị cháy", 0},
    {"Hôm qua có đánh nhau ở quán nhậu", 0},
    {"hqua co danh nhau o quan nhau", 0},
    {"There was a fight at the bar yesterday", 0},
    {"Xe đang chạy trên đường thì bị quẹt", 0},        /* chạy, not cháy */
    {"xe dang chay tren duong thi bi quet", 0},
    {"Tôi vừa ra khỏi nhà thì thấy cửa mở", 0},        /* khỏi, not khói */
    {"Hàng xóm mở nhạc lớn quá, ồn ào cả đêm", 0},
    {"Có người bán ma túy ở đầu hẻm", 0},
    {"Nhóm thanh niên tụ tập đánh bạc ở bãi đất trống", 0},
    {"dang danh bac o bai dat trong", 0},
    {"Chủ quán chém giá khách du lịch", 0},
    {"Ông ấy hay chém gió", 0},
    {"Tôi làm nghiên cứu về an ninh", 0},
    {"Mong công an đánh giá lại vụ việc", 0},
    {"Bị lừa chuyển khoản 20 triệu qua điện thoại", 0},
    {"Tôi nợ lớn, bị đòi nợ", 0},                       /* nợ, not nổ */
    {"Chân bị sưng sau khi ngã xe", 0},                 /* sưng, not súng */
    {"Có đám người tụ tập trước cổng", 0},              /* đám, not đâm */
    {"Hàng bán cháy hàng từ sáng", 0},
    {"No fire, no smoke, just a strange smell of paint", 0},
    {"Someone is selling drugs near the school", 0},
    {"The street light has been broken for weeks", 0},
    {"Cần đăng ký tạm trú cho người thuê trọ", 0},
    {"Bị thương nhẹ ở tay, đã ổn", 0},
    {"Chùa bị trộm mất tiền công đức", 0},
    {"Vụ việc nhập từ số liệu cũ (cướp, cướp giật)", 0}, /* cướp without "now" */
    /* feared, threatened, for sale, habitual, about to: not happening now */
    {"Bãi rác hay bị đốt, sợ cháy lan sang nhà dân", 0},
    {"Bọn đòi nợ đe dọa sẽ quay lại đốt nhà", 0},
    {"Có người rao bán súng hơi và dao phóng trên mạng", 0},
    {"Someone is selling air guns and throwing knives online", 0},
    {"Quán karaoke đêm nào cũng có khách say xỉn đánh nhau", 0},
    {"Đang cãi nhau to tiếng, sắp đánh nhau", 0},
    {"They are shouting about the deposit, it may turn into a fight", 0},
    {"The warehouse burned last night, it is out now", 0},
    {"Giờ mới dám báo, hôm thứ bảy bị đánh hội đồng", 0},
    {"Hai nhóm học sinh vừa hỗn chiến rồi giải tán", 0},
    {"Xe cộ chạy lộn xộn ở ngã tư", 0},
    /* words that fold like the new cues' words */
    {"Tôi cần tư vấn thủ tục làm lại căn cước", 0},     /* tư vấn, not tự vẫn */
    {"Mong được tư vấn về hợp đồng thuê nhà", 0},
    {"Please keep me updated about my stolen bike", 0},
};

static void test_positive(void **state)
{
    (void)state;
    s_check(s_positive, ANTT_ARRAY_SIZE(s_positive));
}

static void test_negative(void **state)
{
    (void)state;
    s_check(s_negative, ANTT_ARRAY_SIZE(s_negative));
}

static void test_cues_and_suppressed(void **state)
{
    (void)state;
    antt_danger_t d;
    const char *t = "Cứu với! Có người cầm dao, một người bị chém chảy máu";
    int n = antt_danger_scan(t, strlen(t), &d);
    assert_int_equal(n, 4);
    assert_int_equal(d.ncues, 4);
    assert_string_equal(d.cues[0], "help");
    assert_string_equal(d.cues[1], "knife");
    assert_string_equal(d.cues[2], "stabbing");
    assert_string_equal(d.cues[3], "bleeding");
    assert_int_equal(d.mask, POL | AMB);
    assert_false(d.english);
    /* a negated cue is reported as suppressed, for the classifier */
    t = "không ai bị thương";
    assert_int_equal(antt_danger_scan(t, strlen(t), &d), 0);
    assert_int_equal(d.nsuppressed, 1);
    assert_string_equal(d.suppressed[0], "injured");
    /* a cue that counts once is not also suppressed */
    t = "Không ai bị thương. Có người bị thương ở chân";
    assert_int_equal(antt_danger_scan(t, strlen(t), &d), 1);
    assert_int_equal(d.nsuppressed, 0);
    t = "He is bleeding, send an ambulance";
    assert_int_equal(antt_danger_scan(t, strlen(t), &d), 2);
    assert_true(d.english);
    /* many cues: the count is exact, the lists are capped */
    t = "cháy nhà, khói, nổ bình gas, mùi gas, bị thương, chảy máu, bất tỉnh, đuối nước, cầm dao, có súng, "
        "bắt cóc";
    n = antt_danger_scan(t, strlen(t), &d);
    assert_true(n > ANTT_DANGER_MAX_CUES);
    assert_int_equal(d.ncues, ANTT_DANGER_MAX_CUES);
    assert_int_equal(d.mask, ANTT_DANGER_ALL);
    /* invalid UTF-8 */
    assert_int_equal(antt_danger_scan("\xff\xfe", 2, &d), -EILSEQ);
    assert_int_equal(d.mask, 0);
    assert_int_equal(antt_danger_scan(NULL, 0, &d), 0);
    /* the folded entry point gives the same */
    char *f = antt_text_fold_clauses("Cháy nhà! Không ai bị thương", strlen("Cháy nhà! Không ai bị thương"));
    assert_int_equal(antt_danger_scan_folded(f, &d), 1);
    assert_int_equal(d.mask, FIR);
    free(f);
}

static void test_vocabulary(void **state)
{
    (void)state;
    size_t n;
    const antt_danger_cue_t *c = antt_danger_cues(&n);
    assert_true(n >= 20);
    unsigned all = 0;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(c[i].name);
        assert_true(c[i].services != 0);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(c[i].name, c[k].name);
        all |= c[i].services;
    }
    assert_int_equal(all, ANTT_DANGER_ALL);
}

static void test_notice(void **state)
{
    (void)state;
    assert_null(antt_danger_notice_vi(0));
    assert_null(antt_danger_notice_en(0));
    assert_null(antt_danger_notice(0, "vi", 0));
    const char *v = antt_danger_notice_vi(POL);
    assert_non_null(strstr(v, "Nếu có người đang gặp nguy hiểm, hãy gọi ngay 113 (công an)"));
    assert_null(strstr(v, "114"));
    v = antt_danger_notice_vi(FIR | AMB);
    assert_non_null(strstr(v, "114 (cứu hỏa) và 115 (cấp cứu)"));
    v = antt_danger_notice_vi(ANTT_DANGER_ALL);
    assert_non_null(strstr(v, "113 (công an), 114 (cứu hỏa) và 115 (cấp cứu)"));
    v = antt_danger_notice_en(POL | FIR);
    assert_non_null(strstr(v, "call 113 (police) and 114 (fire and rescue)"));
    assert_string_equal(antt_danger_notice(AMB, "en-GB", 0), antt_danger_notice_en(AMB));
    assert_string_equal(antt_danger_notice(AMB, "vi", 1), antt_danger_notice_vi(AMB));
    assert_string_equal(antt_danger_notice(AMB, NULL, 1), antt_danger_notice_en(AMB));
    assert_string_equal(antt_danger_notice(AMB, "", 0), antt_danger_notice_vi(AMB));
    assert_string_equal(antt_danger_notice(AMB, "eng", 0), antt_danger_notice_vi(AMB));
    const char *num[3];
    assert_int_equal(antt_danger_numbers(0, num), 0);
    assert_int_equal(antt_danger_numbers(AMB | POL, num), 2);
    assert_string_equal(num[0], "113");
    assert_string_equal(num[1], "115");
    assert_int_equal(antt_danger_numbers(ANTT_DANGER_ALL, num), 3);
    assert_string_equal(num[2], "115");
    assert_int_equal(antt_danger_for_category("fire"), FIR);
    assert_int_equal(antt_danger_for_category("traffic"), AMB);
    assert_int_equal(antt_danger_for_category("assault"), POL);
    assert_int_equal(antt_danger_for_category(NULL), POL);
}

static void test_fold_clauses(void **state)
{
    (void)state;
    const char *t = "Cháy nhà!! Không ai bị thương, may quá...";
    char *f = antt_text_fold_clauses(t, strlen(t));
    assert_string_equal(f, "chay nha . khong ai bi thuong , may qua");
    free(f);
    t = "  , Giá 3,5 triệu; số 1.200 (đường Đ.7)\ncòn nữa ";
    f = antt_text_fold_clauses(t, strlen(t));
    assert_string_equal(f, "gia 3 5 trieu , so 1 200 , duong d . 7 . con nua");
    free(f);
    /* the plain folding is unchanged */
    f = antt_text_fold(t, strlen(t));
    assert_string_equal(f, "gia 3 5 trieu so 1 200 duong d 7 con nua");
    free(f);
    assert_null(antt_text_fold_clauses("\xc0\xaf", 2));
}

/* A report of the maximum length scans in well under a millisecond. */
static void test_speed(void **state)
{
    (void)state;
    antt_buf_t b;
    antt_buf_init(&b);
    while (b.len < 3900)
        antt_buf_puts(&b, "Hàng xóm mở nhạc lớn, không ai bị thương, xe đang chạy. ");
    antt_danger_t d;
    uint64_t t0 = antt_mono_ns();
    for (int i = 0; i < 100; i++)
        assert_int_equal(antt_danger_scan(b.data, b.len, &d), 0);
    double per = (double)(antt_mono_ns() - t0) / 100 / 1e3;
    print_message("a 3900-byte report scans in %.1f us\n", per);
    assert_true(per < 5000); /* generous: sanitizers and a shared machine */
    antt_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive),   cmocka_unit_test(test_negative), cmocka_unit_test(test_cues_and_suppressed),
        cmocka_unit_test(test_vocabulary), cmocka_unit_test(test_notice),   cmocka_unit_test(test_fold_clauses),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
