/* antt_danger_cues: the built-in vocabulary of antt_danger, written as
 * residents write it (with diacritics; antt_danger folds and expands
 * shorthand at its first use, so "cháy nhà" also matches "chay nha" and
 * "CHÁY NHÀ"). Phrases match whole words, in order, within one clause.
 *
 * Folding merges words, so an ambiguous word appears only inside a phrase
 * that tells it apart: cháy/chạy ("chay": "cháy nhà", never "đang cháy",
 * which is also "đang chạy", running), khói/khỏi ("bốc khói", never "khói"
 * alone: "ra khỏi nhà"), nổ/nợ/nó ("phát nổ", never "nổ lớn": "nợ lớn"),
 * đâm/đám ("bị đâm", never "đâm người": "đám người"), súng/sưng ("cầm
 * súng", never "súng" alone: "bị sưng"), cứu ("cứu với", never "cứu"
 * inside "nghiên cứu"), chưa/chùa and cha/chả (negations only as "chưa
 * ai", "chẳng có"...), and the English negation "no" (Vietnamese "nó", he)
 * negates English phrases only. */
#include "antt_danger_int.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})
#define POL ANTT_DANGER_POLICE
#define FIR ANTT_DANGER_FIRE
#define AMB ANTT_DANGER_AMBULANCE

/* "^x" must begin its clause, "x$" must end it. */
const s_cue_def_t antt_danger_cue_defs[] = {
    /* 114 */
    {"fire", FIR, 0,
     P("cháy nhà", "nhà cháy", "nhà đang cháy", "nhà bị cháy", "nhà tôi đang cháy", "nhà tôi bị cháy", "đám cháy", "vụ cháy", "bốc cháy", "cháy lớn",
       "cháy to", "cháy lan", "cháy dữ dội", "cháy rụi", "hỏa hoạn", "cháy nổ", "cháy tiệm", "cháy xưởng",
       "cháy kho", "cháy chợ", "cháy rừng", "cháy chung cư", "cháy cột điện", "cháy quán", "xe bị cháy",
       "lửa bốc", "ngọn lửa", "biển lửa", "lửa cháy", "phóng hỏa", "đốt nhà", "gọi cứu hỏa"),
     P("fire", "on fire", "burning", "flames", "blaze", "arson", "fire brigade")},
    {"smoke", FIR, 0,
     P("bốc khói", "khói bay", "khói đen", "khói mù mịt", "khói dày đặc", "có khói", "nhiều khói", "đầy khói",
       "khói lửa", "mùi khét", "khét lẹt"),
     P("smoke", "smell of burning", "burning smell")},
    {"explosion", FIR, 0,
     P("phát nổ", "nổ tung", "tiếng nổ", "vụ nổ", "nổ bình", "bình gas nổ", "nổ gas", "cháy nổ"),
     P("explosion", "exploded", "explode", "blast")},
    {"gas_leak", FIR, 0, P("mùi gas", "mùi ga", "rò rỉ gas", "rò gas", "xì gas", "hở gas", "rò rỉ khí"),
     P("gas leak", "smell gas", "smell of gas", "leaking gas", "gas is leaking")},
    {"trapped", FIR, 0, P("kẹt bên trong", "mắc kẹt", "bị kẹt trong", "kẹt trong đám cháy", "cứu hộ"),
     P("trapped", "stuck inside")},

    /* 115 */
    {"injured", AMB, 0,
     P("bị thương", "người bị thương", "bị thương nặng", "thương vong", "bị bỏng", "bỏng nặng", "gãy chân",
       "gãy tay", "gãy xương", "vỡ đầu", "bể đầu", "bị xe tông", "bị tông"),
     P("injured", "injury", "injuries", "hurt", "wounded", "casualties", "burned", "burnt")},
    {"bleeding", AMB, 0,
     P("chảy máu", "chảy nhiều máu", "mất máu", "máu chảy", "đầy máu", "bê bết máu", "máu me"),
     P("bleeding", "blood everywhere", "lot of blood", "lots of blood")},
    {"unconscious", AMB, 0,
     P("bất tỉnh", "ngất xỉu", "bị ngất", "ngất đi", "bất động", "không cử động", "không tỉnh", "hôn mê",
       "ngã quỵ", "lịm đi", "gọi không dậy", "gọi không tỉnh", "không mở mắt", "không phản ứng", "mê man"),
     P("unconscious", "passed out", "fainted", "not moving", "collapsed", "unresponsive", "won't wake up",
       "not waking up", "not opening her eyes", "not opening his eyes", "isn't opening her eyes",
       "isn't opening his eyes", "not responding", "doesn't respond")},
    {"not_breathing", AMB, 0,
     P("không thở", "khó thở", "ngừng thở", "tắt thở", "ngừng tim", "tim ngừng đập", "ngạt thở", "bị ngạt",
       "đau tim", "nhồi máu cơ tim"),
     P("not breathing", "can't breathe", "cannot breathe", "stopped breathing", "choking", "heart attack",
       "cardiac arrest", "no pulse", "barely breathing", "breathing weakly", "gasping", "turning blue",
       "oxygen machine", "oxygen tank", "needs oxygen", "needs her oxygen", "needs his oxygen")},
    {"weak_breath", AMB, 0,
     P("thở yếu", "thở thoi thóp", "thoi thóp", "thở dốc", "tím tái", "môi tím", "máy thở", "bình oxy",
       "máy oxy", "thở oxy"),
     P("breathing very weakly", "lips are blue", "lips turning blue")},
    {"smoke_inhalation", AMB | FIR, 0, P("ngạt khói"), P("smoke inhalation")},
    {"drowning", AMB, 0,
     P("đuối nước", "chết đuối", "chới với", "rơi xuống nước", "rơi xuống sông", "rơi xuống kênh",
       "té xuống sông", "ngã xuống nước", "ngã xuống sông", "chìm xuống", "bị chìm", "chưa nổi lên",
       "không thấy nổi lên", "bị cuốn trôi", "nước cuốn", "sóng cuốn", "bị sóng đánh"),
     P("drowning", "fell into the river", "fell into the water", "fell into the canal", "went under",
       "gone under", "swept away", "swept out", "dragged out to sea",
       "hasn't come up", "has not come up", "didn't come up", "disappeared under the water")},
    {"stroke", AMB, 0,
     P("đột quỵ", "tai biến", "lên cơn", "bị co giật", "động kinh", "ngộ độc", "sốc thuốc", "sốc phản vệ",
       "uống thuốc sâu", "co giật", "sùi bọt mép", "sùi bọt", "sốc ma túy", "quá liều"),
     P("stroke", "seizure", "overdose", "poisoned", "poisoning", "allergic reaction", "convulsing",
       "convulsions", "foaming", "having a fit")},
    {"suicide", AMB | POL, S_THREAT,
     P("tự tử", "treo cổ", "nhảy lầu", "nhảy cầu", "đòi chết", "muốn chết", "không muốn sống", "không thiết sống",
       "quyên sinh", "kết liễu", "tự sát", "thuốc ngủ", "uống hết thuốc", "uống cả lọ",
       "lời trăng trối", "tạm biệt mọi người", "không còn đường sống", "đứng trên lan can",
       "trèo qua lan can", "đứng trên mép"),
     P("suicide", "kill himself", "kill herself", "kill myself", "jump off", "i have pills", "have pills here",
       "took pills", "took all the pills", "sleeping pills", "whole bottle", "end my life", "end it all",
       "end it tonight", "don't want to live", "do not want to live", "can't take it anymore",
       "cannot take it anymore", "can't go on", "say goodbye", "saying goodbye", "goodbye to my",
       "last message", "better off without me", "on the ledge", "over the railing", "on the edge of the roof")},
    {"ambulance", AMB, 0, P("cấp cứu", "xe cứu thương", "nguy kịch", "nguy hiểm đến tính mạng"),
     P("ambulance", "paramedics", "critical condition")},

    /* 113 */
    {"help", POL, S_GENERIC,
     P("^cứu$", "^cứu cứu", "cứu với", "cứu tôi", "cứu em", "cứu con", "cứu cháu", "cứu mẹ", "cứu bố",
       "cứu người", "cứu gấp", "cứu mình", "kêu cứu", "la cứu", "cầu cứu", "^giúp tôi với",
       "^cướp cướp"),
     P("^help$", "^help help", "help me", "help us", "please help me", "please help us", "^please help$",
       "somebody help", "someone help",
       "send help", "sos", "screaming for help", "calling for help")},
    {"emergency", POL, S_GENERIC, P("khẩn cấp", "nguy cấp"), P("emergency")},
    {"fight", POL, 0,
     P("đánh nhau", "hỗn chiến", "ẩu đả", "đánh người", "đánh hội đồng", "đang đánh", "bị đánh", "đánh đập",
       "hành hung", "đánh chết", "đánh vợ", "đánh chồng", "đánh con", "đánh mẹ", "đánh bố", "đánh anh",
       "đánh em", "đánh chị", "đánh tôi", "đập phá nhà"),
     P("fighting", "fight", "brawl", "attacking", "attacked", "beating", "beaten", "assaulting", "punching")},
    {"knife", POL, 0,
     P("cầm dao", "vung dao", "rút dao", "mang dao", "dí dao", "kề dao", "dùng dao", "có dao", "dao găm",
       "mã tấu", "cầm kiếm", "mang kiếm", "cầm gậy", "dùng gậy", "hung khí", "cầm búa"),
     P("knife", "knives", "machete", "machetes", "with sticks", "sword", "armed")},
    {"stabbing", POL | AMB, 0,
     P("bị đâm", "đâm chết", "đâm nhau", "bị chém", "chém nhau", "rượt chém", "chém người", "đòi chém",
       "dọa đâm", "dọa chém"),
     P("stabbed", "stabbing", "slashed")},
    {"gun", POL, 0,
     P("có súng", "cầm súng", "nổ súng", "rút súng", "chĩa súng", "dí súng", "tiếng súng",
       "bắn chỉ thiên", "bị bắn", "bắn người", "bắn chết", "ném lựu đạn", "đặt bom", "có bom", "ném bom xăng"),
     P("has a gun", "have a gun", "with a gun", "pointing a gun", "waving a gun", "gunshots", "gunfire",
       "firing a gun", "shooting", "shots fired", "was shot", "been shot", "got shot", "opened fire", "bomb threat",
       "planted a bomb")},
    {"robbery", POL, S_NOW, P("cướp"),
     P("robbing", "being robbed", "robbery in progress", "armed robbery", "mugging", "hold up", "holdup")},
    {"kidnap", POL, 0, P("bắt cóc", "bắt giữ con tin", "làm con tin", "bắt nhốt"),
     P("kidnap", "kidnapped", "kidnapping", "abducted", "hostage")},
    {"held", POL, 0,
     P("nhốt tôi", "nhốt em", "nhốt con", "nhốt mẹ", "nhốt bố", "nhốt vợ", "nhốt chị", "nhốt anh", "nhốt cháu",
       "nhốt trong phòng", "nhốt trong nhà", "bị nhốt", "giữ tôi", "giữ em", "giữ người", "không cho về",
       "không cho đi", "không cho ra ngoài", "không cho ra khỏi", "trói tôi", "bị trói", "khóa trái cửa",
       "bỏ quên trong xe", "kẹt trong xe", "khóa trong xe", "đóng đinh cửa"),
     P("locked me", "locked us", "locked in", "locked inside", "holding me", "holding us",
       "won't let me leave", "won't let me go", "will not let me leave", "held captive", 
       "tied up", "tied me", "left in the car", "locked in the car", "trapped in the car", "nailed the door")},
    {"threat_to_kill", POL, S_THREAT,
     P("dọa giết", "đe dọa giết", "đòi giết", "giết người", "sẽ giết", "muốn giết", "giết tôi", "giết chết",
       "dọa bắn"),
     P("threatening to kill", "threatened to kill", "threatens to kill", "going to kill", "kill me", "kill us",
       "kill him", "kill her", "murder")},
    {"sexual_assault", POL, 0, P("hiếp dâm", "cưỡng hiếp", "đang xâm hại"), P("rape", "raped", "sexual assault")},
    {NULL, 0, 0, NULL, NULL},
};

/* Markers: what changes whether a cue counts. */
const s_mark_def_t antt_danger_mark_defs[] = {
    /* negations: within S_NEG_WINDOW words before a cue of the same language
     * and clause, up to a scope end */
    {S_NEG, 0,
     P("không", "chưa ai", "chưa có", "chưa bị", "chưa thấy", "chẳng ai", "chẳng có", "chẳng bị", "chả ai",
       "chả có", "đâu có"),
     NULL},
    {S_NEG, 0, NULL,
     P("no", "no one", "not", "nobody", "none", "never", "without", "nothing", "neither", "nor", "isn't",
       "wasn't", "aren't", "weren't", "didn't", "don't", "doesn't", "hasn't", "haven't")},
    /* words with "không" that negate nothing ("không hiểu sao bốc cháy") */
    {S_NONEG, 0,
     P("không hiểu sao", "không biết", "không may", "không kịp", "không ngờ", "không rõ", "không hiểu vì sao"),
     P("don't know", "do not know", "not sure")},
    {S_SCOPE_END, 0, P("mà", "nhưng", "chỉ là"), P("but", "only")},
    /* now: overrides the past of the sentence in its clause */
    {S_NOW_MARK, 0,
     P("đang", "bây giờ", "hiện giờ", "hiện đang", "hiện tại", "lúc này", "vẫn còn", "còn đang", "ngay lúc này",
       "từ hôm qua đến giờ", "từ tối qua đến giờ", "từ sáng đến giờ", "từ hôm qua tới giờ", "đến giờ vẫn"),
     P("now", "right now", "currently", "still", "at the moment", "is going on", "are going on", "happening",
       "in progress", "since yesterday", "since last night", "since this morning", "since morning",
       "until now", "for hours")},
    /* the past: the whole sentence, unless its clause says now */
    {S_PAST, 0,
     P("tuần trước", "tuần rồi", "tháng trước", "tháng rồi", "năm trước", "năm ngoái", "năm rồi", "hôm qua",
       "hôm kia", "hôm trước", "hôm nọ", "đêm qua", "tối qua", "chiều qua", "sáng qua", "trưa qua", "sáng nay",
       "ngày trước", "hồi trước", "lúc trước", "trước đây", "đã lâu", "lâu rồi", "từ lâu", "hôm thứ",
       "dạo trước"),
     P("yesterday", "last night", "last week", "last month", "last year", "days ago", "weeks ago", "months ago",
       "years ago", "previously", "earlier today", "this morning", "over the weekend", "the other day",
       "used to", "last monday", "last tuesday", "last wednesday", "last thursday", "last friday",
       "last saturday", "last sunday")},
    /* what keeps happening is no emergency now: the same as the past */
    {S_PAST, 0,
     P("thường xuyên", "hay có", "hay bị", "hay xảy ra", "đêm nào cũng", "ngày nào cũng", "tối nào cũng",
       "mỗi tối", "mỗi đêm", "mỗi ngày", "hằng ngày", "suốt ngày", "lúc nào cũng"),
     P("every night", "every day", "every evening", "often", "always", "usually", "keeps")},
    /* not "now" after all: "giờ mới dám báo" (only now do I dare report it) */
    {S_NOTNOW, 0, P("giờ mới"), P("only now")},
    /* what may, will or is feared to happen: cues after it in its clause
     * (a threat is an emergency in itself: threat cues are not affected) */
    {S_UNREAL, 0,
     P("sẽ", "sợ rằng", "e rằng", "lo sợ", "sợ bị", "sợ cháy", "có ý định", "định đốt", "định đánh", "nguy cơ",
       "đe dọa", "dọa", "nếu", "phòng khi", "rao bán"),
     P("will", "afraid", "worried", "risk of", "may turn into", "could turn into", "might turn into",
       "about to", "threatened to", "threatening to", "selling", "sells", "for sale")},
    /* over: the whole sentence, for these services */
    {S_OVER, FIR,
     P("đã dập tắt", "dập tắt rồi", "đã được dập tắt", "đã dập", "lửa đã tắt", "cháy đã tắt", "đã khống chế",
       "đã được khống chế", "đã dập xong"),
     P("put out", "was put out", "extinguished", "fire is out", "it is out", "under control")},
    {S_OVER, AMB,
     P("đã đưa đi cấp cứu", "đã được đưa đi", "đã được cấp cứu", "đã nhập viện", "đã đi viện", "đã đưa vào viện",
       "đã đưa vào bệnh viện", "đã đưa đi bệnh viện", "đã chở đi viện", "đã tỉnh lại", "không sao",
       "đều an toàn", "đã an toàn"),
     P("taken to hospital", "taken to the hospital", "already in hospital", "is safe now", "everyone is safe",
       "all safe", "is fine now", "is okay now")},
    {S_OVER, POL,
     P("đã bỏ chạy", "bỏ chạy rồi", "đã bỏ đi", "bỏ đi rồi", "đã tẩu thoát", "đã chạy mất", "chạy mất rồi",
       "giải tán", "rồi bỏ đi", "rồi bỏ chạy", "rồi chạy mất", "rồi tẩu thoát", "đã bị bắt", "đã được giải cứu"),
     P("ran away", "fled", "got away", "has left", "have left", "already left", "was arrested",
       "were arrested", "police arrived")},
    /* stops: words that contain a cue's words and mean something else */
    {S_STOP, ANTT_DANGER_ALL,
     P("nghiên cứu", "cứu trợ", "cứu vãn", "cứu rỗi", "hết cứu", "cứu cánh", "chém gió", "chém giá",
       "đánh bạc", "đánh bài", "đánh đề", "đánh lô", "đánh giá", "đánh răng", "đánh máy", "đánh thức",
       "đánh dấu", "đánh rơi", "đánh mất", "đánh cắp", "đánh cầu", "đánh cờ", "đánh thuế", "đánh trống",
       "đánh đàn", "đánh bóng", "đánh son", "đánh giày", "bị thương nhẹ", "xây xát nhẹ", "khỏi bệnh",
       "sắp đánh nhau"),
     P("minor injuries", "slightly injured", "slightly hurt", "fire drill", "cease fire", "fire alarm test")},
    {S_STOP, FIR, P("cháy hàng", "cháy túi", "cháy nắng", "cháy phố", "cháy vé", "cơm cháy", "lộn xộn"),
     P("open fire", "opened fire")},
    {0, 0, NULL, NULL},
};

/* SMS shorthand, word for word (as the classifier's [shorthand] table). */
const s_short_t antt_danger_shorthand[] = {
    {"ko", "không"}, {"k", "không"}, {"kh", "không"}, {"khg", "không"}, {"hok", "không"}, {"kg", "không"},
    {"hk", "không"}, {"dc", "được"}, {"đc", "được"}, {"bj", "bị"}, {"ng", "người"}, {"e", "em"},
    {"vs", "với"}, {"r", "rồi"}, {"oy", "rồi"}, {"roy", "rồi"}, {"rùi", "rồi"}, {"dag", "đang"},
    {"đag", "đang"}, {"dg", "đang"}, {"đg", "đang"}, {"wa", "qua"}, {"nhiu", "nhiều"}, {"trc", "trước"},
    {"hqua", "hôm qua"}, {"h", "giờ"}, {"mk", "tôi"}, {"mik", "tôi"}, {"tui", "tôi"}, {"jup", "giúp"},
    {"ck", "chồng"}, {"vk", "vợ"}, {"xm", "xe máy"}, {"bv", "bệnh viện"}, {NULL, NULL},
};

/* "đg" is đang, or đường after these words ("trên đg", "ra đg"). */
const char *const antt_danger_road_words[] = {"trên", "ngoài", "giữa", "lòng", "qua", "ven", "đầu", "cuối",
                                               "sang", "ra", "dưới", "bên", "hẻm", "đoạn", "con", "tuyến", "mặt",
                                               NULL};
