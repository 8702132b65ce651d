/* antt_categories: the category table. */
#include "antt_categories.h"

#include <string.h>

const antt_category_t antt_categories[] = {
    {"theft", "Trộm cắp tài sản", "Theft of property", "criminal"},
    {"robbery", "Cướp, cướp giật", "Robbery and snatching", "criminal"},
    {"assault", "Đánh nhau, cố ý gây thương tích", "Fights and assault", "criminal"},
    {"domestic_violence", "Bạo lực gia đình", "Domestic violence", "order"},
    {"drugs", "Ma túy", "Drugs", "social_evils"},
    {"gambling", "Cờ bạc, lô đề, cá độ", "Gambling, illegal lottery and betting", "social_evils"},
    {"fraud", "Lừa đảo chiếm đoạt tài sản", "Fraud, including phone and online scams", "criminal"},
    {"cybercrime", "Chiếm đoạt tài khoản, tống tiền qua mạng, mua bán dữ liệu cá nhân",
     "Account takeover, online extortion, trade in personal data", "criminal"},
    {"loan_sharking", "Tín dụng đen, đòi nợ kiểu khủng bố", "Loan sharking and violent debt collection",
     "criminal"},
    {"fire", "Cháy, nổ", "Fire and explosion", "fire"},
    {"traffic", "Tai nạn, đua xe, vi phạm giao thông", "Traffic accidents, street racing, violations",
     "traffic"},
    {"public_order", "Gây rối, ồn ào, lấn chiếm vỉa hè, xả rác",
     "Disturbance, noise, pavement encroachment, littering", "order"},
    {"dispute", "Mâu thuẫn, tranh chấp", "Quarrels and disputes", "order"},
    {"suspicious", "Người, phương tiện khả nghi", "Suspicious people or vehicles", "order"},
    {"weapons", "Vũ khí, vật liệu nổ, pháo", "Weapons, explosives, fireworks", "criminal"},
    {"other", "Khác", "Other", "other"},
};
const int antt_categories_count = (int)(sizeof(antt_categories) / sizeof(antt_categories[0]));

const antt_category_t *antt_category_find(const char *code)
{
    if (code == NULL)
        return NULL;
    for (int i = 0; i < antt_categories_count; i++)
        if (strcmp(antt_categories[i].code, code) == 0)
            return &antt_categories[i];
    return NULL;
}
