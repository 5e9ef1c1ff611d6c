"""What a refusal says: one zh-TW msgid per reason, for every surface (POS API, pages, chat, command line).

English (and any other language) comes only from the message catalogue, bot/translations; `{placeholders}` are
filled from the refusal's params.
"""

from __future__ import annotations

from bot.i18n import DEFAULT_LANGUAGE, gettext
from bot.services.refusals import Reason, Refused

TEXTS: dict[Reason, str] = {
    Reason.PHONE_TAKEN: "這個手機號碼已經是會員，請改用「綁定既有會員」",
    Reason.ALREADY_JOINED: "你的 LINE 帳號已綁定會員，不需要再加入",
    Reason.MEMBER_NOT_FOUND: "查無此會員編號",
    Reason.ALREADY_ERASED: "此會員資料已刪除",
    Reason.MEMBER_ERASED_CANNOT_BIND: "此會員資料已刪除，無法綁定",
    Reason.LINE_USER_BOUND_ELSEWHERE: "你的 LINE 帳號已綁定其他會員，請先解除綁定",
    Reason.MEMBER_BOUND_ELSEWHERE: "此會員已綁定其他 LINE 帳號，請洽門市人員協助解除綁定",
    Reason.MEMBER_ALREADY_BOUND: "此會員已綁定 LINE 帳號，如需更換請先解除綁定",
    Reason.NOT_BOUND: "此會員尚未綁定 LINE 帳號",
    Reason.BIND_CODE_UNAVAILABLE: "目前無法產生綁定碼，請稍後再試",
    Reason.BIND_CODE_WRONG: "綁定碼不正確，請確認後再輸入",
    Reason.BIND_CODE_USED: "此綁定碼已使用過，請洽門市人員重新產生",
    Reason.BIND_CODE_EXPIRED: "此綁定碼已失效，請洽門市人員重新產生",
    Reason.BIND_CODE_TOO_MANY_TRIES: "綁定碼輸入錯誤太多次，請 10 分鐘後再試",
    Reason.TOO_MANY_CODES_FOR_PHONE: "這個手機號碼在一小時內已索取太多次驗證碼，請稍後再試",
    Reason.TOO_MANY_CODES_FOR_USER: "你在一小時內已索取太多次驗證碼，請稍後再試",
    Reason.SMS_CODE_FORMAT: "請輸入簡訊中的 6 位數驗證碼",
    Reason.SMS_CODE_WRONG: "驗證碼不正確，還可以再試 {left} 次",
    Reason.SMS_CODE_DEAD: "錯誤次數過多，這組驗證碼已失效，請重新索取",
    Reason.SMS_CODE_EXPIRED: "驗證碼已過期或已被新的驗證碼取代，請重新索取",
    Reason.SMS_CODE_USED: "這組驗證碼已經使用過，請重新索取",
    Reason.SMS_CODE_UNKNOWN: "找不到這組驗證碼，請重新索取",
    Reason.LINK_TOKEN_UNKNOWN: "綁定連結無效，請回到 LINE 重新點選「綁定既有會員」",
    Reason.LINK_TOKEN_SPENT: "綁定連結已過期或已使用，請回到 LINE 重新點選「綁定既有會員」",
    Reason.LINE_USER_ALREADY_BOUND: "你的 LINE 帳號已綁定會員，不需要再綁定",
    Reason.PHONE_NOT_VERIFIED: "請先完成手機驗證",
    Reason.NO_MEMBER_WITH_PHONE: "查無此手機號碼的會員，請改用「加入會員」",
    Reason.ACCOUNT_LINK_FAILED: "LINE 帳號連結沒有完成，會員資料沒有變更。請回到聊天室再試一次。",
    Reason.NONCE_UNKNOWN: "找不到這次的綁定紀錄，請重新綁定",
    Reason.NONCE_USED: "這次的綁定已經完成過，請勿重複使用",
    Reason.NONCE_EXPIRED: "綁定已逾時（10 分鐘），請重新綁定",
    Reason.NONCE_NOT_YOURS: "這次的綁定不屬於你的 LINE 帳號，會員資料沒有變更",
    Reason.UNKNOWN_STAFF: "找不到此門市的在職人員代碼",
    Reason.STORE_UNKNOWN: "查無門市代碼「{store_code}」",
    Reason.API_KEY_NAME_INVALID: "金鑰名稱必須是 1 到 100 個字",
    Reason.API_KEY_UNKNOWN: "查無編號 {key_id} 的 API 金鑰",
    Reason.API_KEY_SCOPES_INVALID: "金鑰權限必須是 {scopes} 其中的一或多個",
    Reason.SCOPE_MISSING: "此 API 金鑰沒有「{scope}」權限，無法執行此操作",
    Reason.CODE_INVALID: "條碼無效，請會員重新開啟會員條碼",
    Reason.CODE_UNKNOWN: "查無此會員條碼",
    Reason.CODE_FORGED: "條碼無效",
    Reason.CODE_EXPIRED: "條碼已過期，請會員重新開啟會員條碼",
    Reason.CODE_USED: "此條碼已使用過，請會員重新整理條碼",
    Reason.MEMBER_NUMBER_LOOKUP_ONLY: "會員編號僅供查詢，集點或折抵請掃描會員條碼",
    Reason.INSUFFICIENT_POINTS: "點數不足",
    Reason.INSUFFICIENT_STAMPS: "集點卡點數不足",
    Reason.IDEMPOTENCY_CONFLICT: "此交易編號已用於不同的交易內容",
    Reason.CHANNEL_NOT_ALLOWED: "門市的金鑰不能登錄網路商店的交易，請掃描會員條碼",
    Reason.PURCHASE_NOT_FOUND: "查無此交易編號",
    Reason.REFUND_EXCEEDS_PURCHASE: "退款金額超過此交易尚未退款的金額",
    Reason.DAILY_LIMIT_REACHED: "今天的來店集點已達上限，明天再來集點吧",
    Reason.NO_STAMP_CARD: "目前沒有來店集點活動",
    Reason.STAMP_CARD_UNAVAILABLE: "目前無法開啟集點卡，請稍後再試",
    Reason.COUPON_INACTIVE: "此優惠券已停止發放",
    Reason.COUPON_ENDED: "此優惠券活動已結束",
    Reason.COUPON_SOLD_OUT: "此優惠券已發送完畢",
    Reason.COUPON_MEMBER_LIMIT: "已達此優惠券每人可領取的上限",
    Reason.COUPON_MEMBER_ERASED: "此會員資料已刪除",
    Reason.COUPON_UNKNOWN: "查無此優惠券",
    Reason.COUPON_NOT_YET_VALID: "此優惠券尚未開始使用",
    Reason.COUPON_EXPIRED: "此優惠券已過期",
    Reason.COUPON_VOIDED: "此優惠券已作廢",
    Reason.COUPON_USED: "此優惠券已使用",
    Reason.COUPON_FOREIGN: "此優惠券不屬於這位會員",
    Reason.COUPON_MEMBER_REQUIRED: "使用此優惠券須由會員本人出示會員條碼",
    Reason.COUPON_MIN_SPEND: "此優惠券需消費滿 NT${min_spend}",
    Reason.COUPON_NOT_REDEEMED: "此優惠券目前沒有可取消的使用紀錄",
    Reason.COUPON_UNDO_WINDOW_PASSED: "已超過可取消使用的時間（15 分鐘）",
    Reason.COUPON_OTHER_STORE: "只有使用此優惠券的門市可以取消",
    Reason.COUPON_UNAVAILABLE: "目前無法發送優惠券，請稍後再試",
}


def text_for(refused: Refused, language: str = DEFAULT_LANGUAGE) -> str:
    """The refusal in `language` ("zh-TW" or "en"), its placeholders filled."""
    return gettext(TEXTS[refused.reason], language, **refused.params)
